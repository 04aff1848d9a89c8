"""DIR/report.md, DIR/results.json and the figures of a reproduction. Every verdict printed here comes from
`claims.evaluate_claims`; this module only lays the numbers out."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from ..course.notebook import markdown_table
from ..runs.checkpoint import save_json
from . import figures
from .claims import EQUIVALENCE_MARGIN, METRICS, Table
from .verdicts import resolution
from .wording import (SCALE, spans_zero, cell_text, ci, effect_text, headline, mean_pm, num, p_text, pairing_text,
                      relative, resolution_text, settings_text, verdict_words)

MEANINGLESS = ("SMOKE RUN: these numbers only show that the code runs end to end; they are meaningless and "
               "support no claim.")


def json_safe(value):
    """nan and ±inf become None (JSON has no such numbers); tuples become lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def verdict_rows(claims: list, scale: str) -> list:
    rows = []
    for claim in claims:
        counted = [c for c in claim["comparisons"] if c["counted"]]
        tally = {v: sum(c["verdict"] == v for c in counted) for v in ("reproduced", "contradicted", "inconclusive")}
        holm = sum(c["contradicts_after_holm"] for c in counted)
        rows.append([claim["id"], claim["title"], claim["paper"],
                     f"{claim['metric']}: {claim['treatment']} − {claim['baseline']}, paper expects {claim['expect']}",
                     "; ".join(effect_text(c) for c in counted) or "no runs",
                     f"{tally['reproduced']}/{len(counted)} reproduced, {tally['contradicted']} contradicted "
                     f"({holm} after Holm)", verdict_words(claim["verdict"], scale, claim["comparisons"])])
    return rows


def comparison_rows(claim: dict) -> list:
    rows = []
    for c in claim["comparisons"]:
        cens = c.get("censored") or {}
        marks = {arm: f" ({cens[arm]}/{len(c['seeds'])} at the cap)" if cens.get(arm) else "" for arm in
                 ("baseline", "treatment")}
        margin = f" ±{c['margin']}" if c.get("margin") else ""
        holm = f", Holm p {num(c['p_contra_holm'])}" if c.get("p_contra_holm") is not None and c["p_contra"] < 1 else ""
        rows.append([cell_text(c), c["metric"], f"{c['treatment_arm']} − {c['baseline_arm']}", c["expect"] + margin,
                     mean_pm(c["baseline"]) + marks["baseline"], mean_pm(c["treatment"]) + marks["treatment"],
                     num(c["difference"]["mean"]),
                     ci(c["difference"]) + (f", 90 %: {ci(c['tost_interval'])}" if c.get("tost_interval") else ""),
                     num(c["cohens_dz"]), f"t p {num(c['p_t'])}, {p_text(c)}{holm}",
                     relative(c.get("relative")) if not spans_zero(c["baseline"]) else "n/a (baseline near 0)",
                     c["verdict"] + ("" if c["counted"] else " (not counted)")])
    return rows


def arm_rows(claim: dict) -> list:
    return [[cell_text(a), a["arm"], a["metric"], mean_pm(a), ci(a), a["n"],
             ", ".join(f"{s}: {num(v)}" for s, v in sorted(a["values"].items()))] for a in claim["arms"]]


COMPARISON_HEADER = ["cell", "metric", "difference", "paper expects", "baseline mean ± std", "treatment mean ± std",
                     "mean difference", "95 % CI", "d_z", "p-values", "relative", "verdict"]
ARM_HEADER = ["cell", "arm", "metric", "mean ± std", "95 % CI of the mean", "seeds", "per seed"]


def censoring_rows(table, cells: list) -> list:
    """Per cell and arm: how many seeds had their lowest held-out loss at the last evaluation (still improving)."""
    rows = []
    for data, n, cap in cells:
        for arm in ("noaug", "scoreaug", "noisy-rot90", "scoreaug-rot90", "clean-geometric", "combined"):
            runs = table._results(arm, data, n, cap)
            if runs:
                capped = sum(bool(r.get("best_at_cap")) for r in runs.values())
                steps = [r["best_heldout_step"] for r in runs.values() if r.get("best_heldout_step") is not None]
                rows.append([f"{data} n={n} {cap}", arm, f"{capped}/{len(runs)}",
                             f"{min(steps)}-{max(steps)}" if steps else "n/a"])
    return rows


def settings_rows(budget, runs, params: dict) -> list:
    b = budget
    cells = [b.main] + ([b.extra] if any(r.data_label == b.extra.label for r in runs) else []) if b.extra else [b.main]
    rows = []
    for c in cells:
        sizes = sorted({r.n_train for r in runs if r.data_label == c.label})
        caps = ", ".join(f"{cap.label} ({cap.model} {cap.model_kwargs}, {params.get((c.label, cap.label), 0):,} "
                         "parameters)" for cap in c.capacities)
        rows.append([c.data, ", ".join(map(str, sizes)), caps, f"{c.steps} steps of {c.batch_size}",
                     f"every {c.eval_every} steps", c.n_heldout])
    return rows


def write_report(out: Path, ctx: dict) -> Path:
    """report.md from the context assembled by the pipeline (budget, runs, results, claims, hardware, ...)."""
    budget, claims, runs = ctx["budget"], ctx["claims"], ctx["runs"]
    lines = [f"# Does ScoreAug work? A small-scale reproduction: `{budget.name}` budget", ""]
    if budget.meaningless:
        lines += [f"> **{MEANINGLESS}**", ""]
    hw, scale = ctx["hardware"], SCALE.get(budget.main.label, budget.main.label)
    lines += [f"Command: `{ctx['command']}`  ", pairing_text(budget) + "  ",
              f"Hardware: {hw['cpu']}, {hw['cores']} cores; {hw['gpu'] or 'no GPU'}; {hw['workers']} worker processes "
              f"of {hw['threads_per_worker']} torch thread; torch {hw['torch']}; load average {hw['load_start']} at the "
              f"start of this invocation, {hw['load_end']} at its end (other users' load slows the runs)  ",
              f"{trained_text(ctx)}; the jobs' CPU time over the invocations that measured the runs now reported: "
              f"{ctx['cpu_seconds_jobs'] / 60:.1f} core-min. Invocations into this folder (wall time, runs reused "
              "from an earlier one; an invocation stopped before its end is not listed):", ""]
    lines += [f"- {i['started']}: {i['wall_seconds'] / 60:.1f} min wall, {i['n_reused']} of {i.get('n_runs', '?')} runs reused, "
              f"{i.get('cpu_seconds', 0) / 60:.1f} core-min" for i in ctx["invocations"]] + [""]
    lines += ["## Verdicts", "", "Each comparison's verdict comes from a 95 % Student-t interval of the paired "
              "differences (treatment − baseline) over seeds: reproduced when it excludes 0 in the paper's direction, "
              "contradicted when it excludes 0 the other way, inconclusive otherwise (an equivalence comparison: "
              "reproduced when its 90 % interval lies inside the margin). A claim is reproduced when every counted "
              "comparison is (an intersection: each at 5 %), contradicted when a counted comparison still contradicts "
              "after Holm's adjustment within the claim, inconclusive otherwise. " + resolution_text(claims) +
              " The paper's numbers are CIFAR-10 FIDs from its own runs (no seeds or intervals given); ours are "
              f"small-scale measures of the same effects, so only directions are compared, at {scale}.", ""]
    lines += ["Headline:", ""] + headline(claims, scale) + [""]
    lines.append(markdown_table(["#", "claim", "paper (source)", "our metric and expected direction",
                                 "ours (counted comparisons): mean difference [95 % CI], d_z, permutation p",
                                 "cells", "verdict"], verdict_rows(claims, scale)))
    lines += ["", "### Precondition: does the no-augmentation baseline overfit at the smallest size?", ""]
    lines.append(markdown_table(["cell", "gap (held-out − training loss, σ < 1)", "95 % CI", "d_z", "overfits?"],
                                [[cell_text(p), mean_pm(p["difference"]), ci(p["difference"]), num(p["cohens_dz"]),
                                  {"reproduced": "yes (CI > 0)", "contradicted": "no (CI < 0)"}.get(p["verdict"],
                                                                                                    "inconclusive")]
                                 for p in ctx["precondition"]]))
    lines += ["", "Curves of the gap during training: ![overfitting curves](overfitting_curves.png)", ""]
    lines += ["### Were the runs still improving?", "", "Seeds whose lowest held-out loss came at the last evaluation "
              "(the run may not have reached its best: a comparison involving it compares models still improving, "
              "and a best-checkpoint measure is then an end-of-training one):", ""]
    table = Table(runs, ctx["results"])
    cells = list(dict.fromkeys(table.cells() + [tuple(v) for v in ctx["claim_cells"].values()]))
    lines += [markdown_table(["cell", "arm", "best at the last evaluation", "steps of the best"],
                             censoring_rows(table, cells)), ""]
    lines += ["## Settings", "", markdown_table(["data", "training-set sizes", "capacities", "training",
                                                 "train/held-out evaluation", "held-out images"],
                                                settings_rows(budget, runs, ctx["params"])), ""]
    lines += [settings_text(budget, runs) + f" Optimiser and EMA: {ctx['recipe']}.", ""]
    lines += ["Classifiers trained by the toolkit for the measures:", ""]
    lines.append(markdown_table(["name", "purpose", "data", "held-out accuracy", "notes"], [
        [name, info.get("purpose", ""), info.get("data", ""), num(info.get("test_accuracy")),
         (f"upright held-out images judged rotated {num(info['false_rotated'])}, rotated ones detected "
          f"{num(info['detected_rotated'])}" if "false_rotated" in info else "proxy FID features (not Inception)")]
        for name, info in ctx["classifiers"].items()]))
    lines += ["", "Metrics: " + "; ".join(f"`{k}`: {v}" for k, v in METRICS.items()) + ".", ""]
    for claim in claims:
        lines += [f"## Claim {claim['id']}: {claim['title']}", "", f"Paper: {claim['paper']}.  ",
                  f"Our test: {claim['metric_text']}; paper's direction: {claim['treatment']} {claim['expect']} than "
                  f"{claim['baseline']}. Rule: {claim['rule']}. "
                  f"**Verdict: {verdict_words(claim['verdict'], scale, claim['comparisons'])}.**",
                  ""] + ([claim["note"], ""] if claim.get("note") else [])
        lines += [markdown_table(COMPARISON_HEADER, comparison_rows(claim)), ""]
        lines += ["<details><summary>Per arm: mean ± std, 95 % CI, per seed</summary>", "",
                  markdown_table(ARM_HEADER, arm_rows(claim)), "", "</details>", ""]
        lines += [f"![claim {claim['id']}]({f})" for f in ctx["figures"].get(claim["id"], [])] + [""]
        lines += ctx["notes"].get(claim["id"], [])
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def trained_text(ctx: dict) -> str:
    timed = [r["seconds_train"] for r in ctx["results"].values() if r.get("seconds_train")]
    if not timed:
        return "Training times: not recorded (the runs were measured again after an earlier invocation trained them)"
    return f"Sum of the training times recorded: {sum(timed) / 60:.1f} min over {len(timed)} runs"


def write_figures(out: Path, ctx: dict) -> dict:
    """The PNGs, by claim id (0: the precondition)."""
    budget, table = ctx["budget"], Table(ctx["runs"], ctx["results"], ctx["run_dirs"])
    main = budget.main.label
    sizes = sorted({n for d, n, _ in table.cells(main)})
    extremes = sorted({sizes[0], sizes[-1]}) if sizes else []
    note = "\nSMOKE RUN: meaningless numbers" if budget.meaningless else ""
    made = {0: [figures.curve_figure(table, main, "gap", ("noaug", "scoreaug"), sizes, "held-out − training loss",
                                     "Overfitting during training", out / "overfitting_curves.png", note)]}
    made[1] = [figures.band_figure(table, main, sizes[0], out / "gap_by_band.png", note)] if sizes else []
    made[2] = [figures.grid_figure(table, out / "grid_measures.png", note)] if sizes else []
    cells = ctx["claim_cells"]
    made[3] = [figures.rotation_figure(table, cells["claim3"], budget.rot_prob, EQUIVALENCE_MARGIN,
                                       out / "claim3_rotation.png", note)]
    made[4] = [figures.combined_figure(table, cells["claim4"], out / "claim4_combined.png", note)]
    made[5] = [figures.curve_figure(table, main, "heldout", ("noaug", "scoreaug"), extremes, "held-out loss (σ < 1)",
                                    "Claim 5: held-out loss during training", out / "claim5_convergence.png", note)]
    return {k: [Path(p).name for p in v if p is not None] for k, v in made.items()}


def write_results(out: Path, ctx: dict) -> Path:
    runs = [{**dataclasses.asdict(spec), "measures": ctx["results"].get(spec.name)} for spec in ctx["runs"]]
    payload = {"budget": dataclasses.asdict(ctx["budget"]), "meaningless": ctx["budget"].meaningless,
               "note": MEANINGLESS if ctx["budget"].meaningless else "", "command": ctx["command"],
               "seeds": list(ctx["budget"].seeds), "hardware": ctx["hardware"], "wall_seconds": ctx["wall_seconds"],
               "invocations": ctx["invocations"], "rotation": ctx.get("rotation"),
               "resolution": resolution(len(ctx["budget"].seeds)),
               "train_seconds_recorded": ctx["train_seconds"], "cpu_seconds": ctx["cpu_seconds"],
               "cpu_seconds_jobs_all_invocations": ctx["cpu_seconds_jobs"],
               "idle_wall_estimate_seconds": ctx["cpu_seconds"] / ctx["hardware"]["workers"],
               "n_runs": len(runs), "n_reused": ctx["n_reused"],
               "classifiers": ctx["classifiers"], "precondition_baseline_overfits": ctx["precondition"],
               "claims": ctx["claims"], "claim_cells": ctx["claim_cells"], "figures": ctx["figures"],
               "parameters": {f"{d} {c}": n for (d, c), n in ctx["params"].items()}, "runs": runs}
    path = out / "results.json"
    save_json(json_safe(payload), path)
    return path


__all__ = ["MEANINGLESS", "write_report", "write_figures", "write_results", "json_safe"]
