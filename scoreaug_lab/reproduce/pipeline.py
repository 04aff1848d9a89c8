"""`reproduce()`: build a budget's suite, run it (parallel, resumable), judge the claims, write the report.

    from scoreaug_lab.reproduce import reproduce
    summary = reproduce("cpu", "runs/reproduce-cpu")      # report.md, results.json, figures in the folder
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from .claims import Table, baseline_overfits, evaluate_claims
from .outdir import claim_folder
from .report import write_figures, write_report, write_results
from .runner import SuiteRunner
from .suite import BUDGETS, build_runs, classifier_specs, resolve_size

DATA_SHAPES = {"digits8": (1, 8, 8), "digits": (1, 16, 16), "cifar10": (3, 32, 32)}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(workers: int) -> dict:
    import torch
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "gpu": gpu, "workers": workers, "threads_per_worker": 1,
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "load_start": _load()}


def _load() -> str:
    try:
        return ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def resolve_budget(name: str, seeds=None, steps=None, data=None, with_cifar: bool = False, allow_cpu: bool = False,
                   log=print):
    """(budget, include the extra CIFAR-10 cells?) after the overrides, the device check and the data check."""
    import torch
    if name not in BUDGETS:
        raise ValueError(f"unknown budget {name!r}; choose one of {', '.join(BUDGETS)}")
    budget = BUDGETS[name].with_changes(seeds=seeds, steps=steps, data=data)
    if len(budget.seeds) < 2 or len(set(budget.seeds)) != len(budget.seeds):
        raise ValueError(f"a confidence interval needs at least 2 distinct seeds (3 or more recommended), got "
                         f"{list(budget.seeds)}")
    if budget.device == "cuda" and not torch.cuda.is_available():
        if not allow_cpu:
            raise ValueError(f"the {name} budget needs a CUDA GPU and none is present; use --budget cpu, or "
                             "--allow-cpu to run it on the CPU anyway (far too slow at full length)")
        budget = dataclasses.replace(budget, device="cpu")
    extra = budget.extra is not None and (with_cifar or budget.meaningless)
    if extra:
        from ..data.images import local_cifar_npz
        npz = local_cifar_npz()
        if npz is None:
            log("reproduce: the CIFAR-10 subset is absent ($SCOREAUG_CIFAR_NPZ or ../shared/data/cifar10_subset.npz); "
                "its cells are left out")
            extra = False
        else:
            budget = dataclasses.replace(budget, extra=dataclasses.replace(budget.extra, data=f"cifar10:{npz}"))
    return budget, extra


def count_parameters(budget, extra: bool) -> dict:
    from ..models import build_model
    out = {}
    for cells in [budget.main] + ([budget.extra] if extra else []):
        for cap in cells.capacities:
            model = build_model(cap.model, DATA_SHAPES.get(cells.label, (3, 32, 32)), **cap.model_kwargs)
            out[(cells.label, cap.label)] = int(sum(p.numel() for p in model.parameters()))
    return out


def rotation_detail(table, cell, rot_prob: float, detected_rotated) -> dict:
    """Claim 3 beyond its verdict: per arm of the claim's cell, the fraction judged rotated corrected for the
    classifier's errors against the same seed's no-augmentation samples (its false-rotation level on generated
    digits): r_s = (observed_s - noaug_s) / (detected - noaug_s), with its interval over seeds and the value
    expected (3p/4 without omega, 0 with it), and the mean fraction of samples given each quarter turn."""
    from .orientation import corrected_fraction
    from .verdicts import interval
    data, n, cap = cell
    noaug = table.values("judged_rotated", "noaug", data, n, cap)
    out = {}
    for arm, expected in (("noaug", None), ("noisy-rot90", 0.75 * rot_prob), ("scoreaug-rot90", 0.0)):
        observed = table.values("judged_rotated", arm, data, n, cap)
        turns = list(table.values("turn_fractions", arm, data, n, cap).values())
        row = {"observed": interval(observed.values()) if observed else None, "expected": expected,
               "turn_fractions": [sum(t[k] for t in turns) / len(turns) for k in range(4)] if turns else None}
        if expected is not None and detected_rotated is not None:
            corrected = [corrected_fraction(observed[s], noaug[s], detected_rotated, clip=False)
                         for s in sorted(observed) if s in noaug and detected_rotated > noaug[s]]
            row["corrected"] = interval(corrected) if len(corrected) > 1 else None
        out[arm] = row
    return out


def rotation_notes(detail: dict, rot_prob: float) -> list:
    from .wording import ci, num
    lines = [f"Corrected for the orientation classifier (detected rotated digits as it does on held-out ones; "
             f"false-rotation level: the same seed's no-augmentation samples), rot90 at p = {rot_prob}:", ""]
    for arm, row in detail.items():
        turns = ", ".join(f"k={k}: {num(f)}" for k, f in enumerate(row["turn_fractions"] or []))
        text = f"- {arm}: judged rotated {num(row['observed']['mean']) if row['observed'] else 'n/a'}"
        if row.get("corrected"):
            text += (f"; corrected {num(row['corrected']['mean'])} {ci(row['corrected'])} (95 % CI over seeds), "
                     f"expected {num(row['expected'])}")
        lines.append(text + f"; share of samples per quarter turn: {turns}")
    check = detail.get("noisy-rot90", {}).get("corrected")
    if check and not check["ci_low"] <= detail["noisy-rot90"]["expected"] <= check["ci_high"]:
        lines += ["", "The correction does not recover the leak it should for the arm without omega (its interval "
                  f"{ci(check)} excludes 3p/4 = {num(detail['noisy-rot90']['expected'])}): the classifier's detection "
                  "rate on generated digits differs from its rate on real ones, so the corrected fractions are "
                  "indicative only; the verdict uses the uncorrected fractions against the noaug samples."]
    return lines + [""]


def memorisation_notes(runs, results) -> list:
    """The reference level of the memorisation measure: held-out images compared with each training set."""
    levels = {}
    for spec in runs:
        if spec.name in results and spec.arm == "noaug":
            levels.setdefault((spec.data_label, spec.n_train), []).append(results[spec.name]["heldout_memorised"])
    text = ", ".join(f"{d} n={n}: {sum(v) / len(v):.3f}" for (d, n), v in sorted(levels.items()))
    return [f"Reference for `memorised`: the same fraction for held-out images (which copy nothing): {text}.", ""]


def record_invocation(out: Path, record: dict) -> list:
    """Append this invocation to DIR/invocations.jsonl and return every one recorded there (an unreadable line
    is skipped): the report shows the first, full run's time even when a later one only reused its runs."""
    path = out / "invocations.jsonl"
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return [r for r in rows if isinstance(r, dict) and {"started", "wall_seconds", "n_reused"} <= set(r)]


def reproduce(budget: str = "cpu", out="runs/reproduce", workers: int | None = None, seeds=None, steps=None,
              data=None, with_cifar: bool = False, allow_cpu: bool = False, progress: bool = True,
              command: str | None = None, log=print) -> dict:
    """Run (or resume) a budget's suite into `out` and write report.md, results.json and the figures there.
    Returns {"report", "results", "claims", "wall_seconds"}."""
    t0, c0 = time.perf_counter(), time.process_time()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    name = budget
    budget, extra = resolve_budget(name, seeds, steps, data, with_cifar, allow_cpu, log)
    out = claim_folder(out, "--out")        # absent, empty or the toolkit's own: a user's files stay untouched
    runs = build_runs(budget, with_extra=extra)
    specs = classifier_specs(budget, with_extra=extra)
    if workers is None:
        workers = 1 if budget.device == "cuda" else (os.cpu_count() or 1)
    hw = hardware(workers)
    runner = SuiteRunner(out, runs, specs, workers=workers, progress=progress, log=log)
    results, infos = runner.run()
    main = budget.main
    cell = {k: (main.label, resolve_size(main.data, size), cap)
            for k, (size, cap) in (("claim3", budget.claim3_cell), ("claim4", budget.claim4_cell))}
    claims = evaluate_claims(budget, runs, results, cell)
    orient = infos.get(f"orientation-{main.label}") or {}
    rotation = rotation_detail(Table(runs, results), cell["claim3"], budget.rot_prob, orient.get("detected_rotated"))
    ctx = {"budget": budget, "runs": runs, "results": results, "claims": claims, "claim_cells": cell,
           "precondition": baseline_overfits(budget, runs, results), "classifiers": infos,
           "run_dirs": {s.name: str(runner.run_dir(s)) for s in runs},
           "false_rotated": orient.get("false_rotated"), "params": count_parameters(budget, extra),
           "command": command or "scoreaug-lab " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
           "n_reused": runner.n_reused,
           "train_seconds": sum(r.get("seconds_train") or 0.0 for r in results.values()),
           "cpu_seconds_jobs": sum((r.get("cpu_seconds_train") or 0.0) + (r.get("cpu_seconds_measure") or 0.0)
                                   for r in results.values()) + sum(i.get("cpu_seconds") or 0.0 for i in infos.values())}
    first = runs[0].config
    ctx["recipe"] = (f"AdamW lr {first['lr']} (warm-up {first['warmup_steps']} steps), EMA decay {first['ema_decay']:.5g} "
                     f"(with a warm-up), gradient clipping {first['grad_clip']}, model {first['model']}")
    ctx["notes"] = {1: memorisation_notes(runs, results),
                    3: rotation_notes(rotation, budget.rot_prob)}
    ctx["rotation"] = rotation
    ctx["figures"] = write_figures(out, ctx)
    hw["load_end"] = _load()
    ctx["hardware"] = hw
    ctx["wall_seconds"] = time.perf_counter() - t0
    # CPU time of this invocation: every worker process (start-up included) and this process
    ctx["cpu_seconds"] = sum(runner.worker_cpu.values()) + time.process_time() - c0
    ctx["invocations"] = record_invocation(out, {"started": started, "wall_seconds": ctx["wall_seconds"],
                                                 "cpu_seconds": ctx["cpu_seconds"], "n_runs": len(runs),
                                                 "n_reused": runner.n_reused, "command": ctx["command"]})
    report = write_report(out, ctx)
    results_path = write_results(out, ctx)
    log(f"reproduce: {len(runs)} runs in {ctx['wall_seconds'] / 60:.1f} min; report {report}, results {results_path}")
    for claim in claims:
        log(f"  claim {claim['id']}: {claim['verdict']:<13} {claim['title']}")
    return {"report": str(report), "results": str(results_path), "claims": claims,
            "wall_seconds": ctx["wall_seconds"], "meaningless": budget.meaningless}


__all__ = ["reproduce", "resolve_budget", "hardware", "count_parameters"]
