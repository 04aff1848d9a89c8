"""`reproduce()`: build a budget's suite, run it (parallel, resumable), judge the claims, write the report.

    from scoreaug_lab.reproduce import reproduce
    summary = reproduce("cpu", "runs/reproduce-cpu")      # report.md, results.json, figures in the folder
"""
from __future__ import annotations

import dataclasses
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from .claims import baseline_overfits, evaluate_claims
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


def rotation_notes(claims: list, budget, false_rotated, detected_rotated) -> list:
    from .orientation import corrected_fraction
    lines = []
    claim3 = next(c for c in claims if c["id"] == 3)
    for arm in claim3["arms"]:
        if arm["metric"] != "judged_rotated":
            continue
        expected = 0.75 * budget.rot_prob if arm["arm"] == "noisy-rot90" else 0.0
        corrected = (corrected_fraction(arm["mean"], false_rotated, detected_rotated)
                     if false_rotated is not None else float("nan"))
        lines.append(f"- {arm['arm']}: {arm['mean']:.3f} of samples judged rotated (mean over {arm['n']} seeds); "
                     f"corrected for the classifier's errors {corrected:.3f}; expected {expected:.3f} "
                     f"({'3p/4' if expected else 'none'}, p = {budget.rot_prob})")
    return lines + [""]


def memorisation_notes(runs, results) -> list:
    """The reference level of the memorisation measure: held-out images compared with each training set."""
    levels = {}
    for spec in runs:
        if spec.name in results and spec.arm == "noaug":
            levels.setdefault((spec.data_label, spec.n_train), []).append(results[spec.name]["heldout_memorised"])
    text = ", ".join(f"{d} n={n}: {sum(v) / len(v):.3f}" for (d, n), v in sorted(levels.items()))
    return [f"Reference for `memorised`: the same fraction for held-out images (which copy nothing): {text}.", ""]


def reproduce(budget: str = "cpu", out="runs/reproduce", workers: int | None = None, seeds=None, steps=None,
              data=None, with_cifar: bool = False, allow_cpu: bool = False, progress: bool = True,
              command: str | None = None, log=print) -> dict:
    """Run (or resume) a budget's suite into `out` and write report.md, results.json and the figures there.
    Returns {"report", "results", "claims", "wall_seconds"}."""
    t0, c0 = time.perf_counter(), time.process_time()
    name = budget
    budget, extra = resolve_budget(name, seeds, steps, data, with_cifar, allow_cpu, log)
    out = Path(out)
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
                    3: rotation_notes(claims, budget, orient.get("false_rotated"), orient.get("detected_rotated"))}
    ctx["figures"] = write_figures(out, ctx)
    hw["load_end"] = _load()
    ctx["hardware"] = hw
    ctx["wall_seconds"] = time.perf_counter() - t0
    # CPU time of this invocation: every worker process (start-up included) and this process
    ctx["cpu_seconds"] = sum(runner.worker_cpu.values()) + time.process_time() - c0
    report = write_report(out, ctx)
    results_path = write_results(out, ctx)
    log(f"reproduce: {len(runs)} runs in {ctx['wall_seconds'] / 60:.1f} min; report {report}, results {results_path}")
    for claim in claims:
        log(f"  claim {claim['id']}: {claim['verdict']:<13} {claim['title']}")
    return {"report": str(report), "results": str(results_path), "claims": claims,
            "wall_seconds": ctx["wall_seconds"], "meaningless": budget.meaningless}


__all__ = ["reproduce", "resolve_budget", "hardware", "count_parameters"]
