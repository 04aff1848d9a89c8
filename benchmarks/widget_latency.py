"""Kernel-side update time of every widget: median and 95th percentile per widget and per kind of change.

    python benchmarks/widget_latency.py [--repeats 40] [--warmup 3] [--threads 1] [--cifar FILE.npz]
                                        [--leak-steps 200] [--seed 0]

Each widget is built headless (no browser), then one control at a time is given `--repeats` new values, as a
student moving it would; the time of each assignment `control.value = v` is measured (the observer, the
recomputation and the in-place update of the plotly figures; not the transfer to a browser). The first
`--warmup` changes of each kind are not counted (first-call overheads).

Targets (issue 5): median <= 50 ms for a transform or sigma change on a 32x32 image (CIFAR-10 when its .npz is
found, else digits enlarged to 32x32), and <= 300 ms to re-sample a toy model (SamplerExplorer with a small
trained MLP; LeakageExplorer's amount change with trained networks). Other rows have no target and are shown for
reference. Amounts are drawn from a continuous range, so every change re-samples (a slider's grid of values
would hit the widget's memo after the first visits). Sigma sliders move over a list of round values (so that they
hold exactly what a notebook sets): sigma rows draw from that list, and the explorers remember only their last
setting, so every change there recomputes too.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import torch

from scoreaug_lab.data import ring_mixture
from scoreaug_lab.data.images import local_cifar_npz
from scoreaug_lab.presets import TOY_MODEL
from scoreaug_lab.presets import mixture_config
from scoreaug_lab.runs.store import get_store
from scoreaug_lab.transforms import registry
from scoreaug_lab.widgets import LeakageExplorer, OverfittingExplorer, SamplerExplorer, ScoreFieldExplorer
from scoreaug_lab.widgets import TransformExplorer

IMAGE_TARGET_MS = 50.0
RESAMPLE_TARGET_MS = 300.0


@dataclass
class Row:
    widget: str
    change: str
    times_ms: list
    target_ms: float | None = None
    errors: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return float(np.percentile(self.times_ms, 95))

    @property
    def verdict(self) -> str:
        if self.errors:
            return f"FAIL ({self.errors} errors)"
        if self.target_ms is None:
            return "-"
        return "PASS" if self.median <= self.target_ms else "FAIL"


def time_changes(app, control: str, values, warmup: int) -> tuple[list[float], int]:
    """Milliseconds of each `app.controls[control].value = v` (after `warmup` uncounted ones), and the number
    of updates that failed (the widget catches errors into app.errors)."""
    ctl = app.controls[control]
    errors_before = len(app.errors)
    times = []
    for i, value in enumerate(values):
        if ctl.value == value:  # no change, no update: skip
            continue
        t0 = time.perf_counter()
        ctl.value = value
        elapsed = (time.perf_counter() - t0) * 1e3
        if i >= warmup:
            times.append(elapsed)
    return times, len(app.errors) - errors_before


def cycle(options, n: int) -> list:
    options = list(options)
    return [options[(i + 1) % len(options)] for i in range(n)]


def slider_values(app, control: str, rng: random.Random, n: int) -> list:
    """n random values of a slider over a list of values (sigma: its round numbers, held exactly)."""
    values = [v for _, v in app.controls[control].options]
    return [rng.choice(values) for _ in range(n)]


def bench_transform_explorer(args, rng, rows) -> None:
    path = args.cifar if args.cifar else local_cifar_npz()
    if path is not None:
        app = TransformExplorer(data="cifar10", cifar_path=path, seed=args.seed)
        label = "TransformExplorer (CIFAR-10 32x32)"
    else:
        app = TransformExplorer(data="digits", digits_size=32, cifar_path=False, seed=args.seed)
        label = "TransformExplorer (digits at 32x32)"
    n = args.warmup + args.repeats
    names = list(registry("images"))
    times, err = time_changes(app, "transform", cycle(names, n), args.warmup)
    rows.append(Row(label, f"transform (cycling all {len(names)})", times, IMAGE_TARGET_MS, err))
    app.controls["transform"].value = "rot90"
    times, err = time_changes(app, "sigma", slider_values(app, "sigma", rng, n), args.warmup)
    rows.append(Row(label, "sigma (rot90, noisy-space optimum)", times, IMAGE_TARGET_MS, err))
    app.controls["transform"].value = "brightness"
    times, err = time_changes(app, "sigma", slider_values(app, "sigma", rng, n), args.warmup)
    rows.append(Row(label, "sigma (brightness, noisy-space optimum)", times, IMAGE_TARGET_MS, err))
    app.controls["transform"].value = "rotate"
    times, err = time_changes(app, "angle", [round(rng.uniform(-180, 180)) for _ in range(n)], args.warmup)
    rows.append(Row(label, "rotate angle (new matrix each time)", times, IMAGE_TARGET_MS, err))
    denoisers = [value for _, value in app.controls["denoiser"].options]
    times, err = time_changes(app, "denoiser", cycle(denoisers, n), args.warmup)
    rows.append(Row(label, "denoiser (rotate)", times, None, err))


def bench_score_field(args, rng, rows) -> None:
    app = ScoreFieldExplorer(seed=args.seed)
    n = args.warmup + args.repeats
    times, err = time_changes(app, "sigma", slider_values(app, "sigma", rng, n), args.warmup)
    rows.append(Row("ScoreFieldExplorer (17x17 arrows, 48x48 density)", "sigma (rotate)", times, None, err))
    times, err = time_changes(app, "transform", cycle(registry("points"), n), args.warmup)
    rows.append(Row("ScoreFieldExplorer (17x17 arrows, 48x48 density)", "transform (cycling)", times, None, err))


def bench_sampler(args, rng, rows) -> None:
    mixture = ring_mixture()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="widget_latency_") as store_dir:   # the lesson's recipe, trained afresh
        model = get_store(store_dir).get(mixture_config(steps=400, seed=args.seed)).model
    print(f"  (trained the SamplerExplorer's MLP, 400 steps, in {time.perf_counter() - t0:.1f} s)")
    app = SamplerExplorer(model=model, mixture=mixture, n_samples=500, seed=args.seed)
    label = "SamplerExplorer (MLP, 500 samples)"
    n = args.warmup + args.repeats
    times, err = time_changes(app, "seed", cycle(range(100), n), args.warmup)
    rows.append(Row(label, "seed (Heun, 18 steps: re-sample)", times, RESAMPLE_TARGET_MS, err))
    times, err = time_changes(app, "churn", [round(rng.uniform(0, 40), 1) for _ in range(n)], args.warmup)
    rows.append(Row(label, "churn (re-sample)", times, RESAMPLE_TARGET_MS, err))
    times, err = time_changes(app, "rho", [round(rng.uniform(1, 12), 1) for _ in range(n)], args.warmup)
    rows.append(Row(label, "rho (re-sample)", times, RESAMPLE_TARGET_MS, err))
    app.controls["churn"].value = 0.0
    times, err = time_changes(app, "steps", [rng.randint(4, 40) for _ in range(n)], args.warmup)
    rows.append(Row(label, "steps 4-40 (re-sample)", times, None, err))


def bench_leakage(args, rng, rows, cache_dir) -> None:
    n = args.warmup + args.repeats
    common = dict(n_samples=500, model_kwargs=TOY_MODEL["teach"], steps=args.leak_steps, store_dir=cache_dir,
                  background=False, seed=args.seed)
    for pair in ("clean", "noisy"):
        t0 = time.perf_counter()
        app = LeakageExplorer(pair=pair, denoiser="network", **common)
        print(f"  (trained the LeakageExplorer's {pair} pair, {args.leak_steps} steps each, in "
              f"{time.perf_counter() - t0:.1f} s)")
        times, err = time_changes(app, "amount", [rng.uniform(-1, 1) for _ in range(n)], args.warmup)
        rows.append(Row(f"LeakageExplorer (networks, {pair} pair, 500 samples)", "amount (re-sample omega_T)",
                        times, RESAMPLE_TARGET_MS, err))
    app = LeakageExplorer(pair="clean", denoiser="optimum", **common)
    times, err = time_changes(app, "amount", [rng.uniform(-1, 1) for _ in range(n)], args.warmup)
    rows.append(Row("LeakageExplorer (closed-form optima, 500 samples)", "amount (re-sample omega_T)", times,
                    None, err))


def bench_overfitting(args, rng, rows, cache_dir) -> None:
    n = args.warmup + args.repeats
    app = OverfittingExplorer(sizes=(16, 64), n_train=16, steps=args.leak_steps, n_samples=500,
                              model_kwargs=TOY_MODEL["teach"], store_dir=cache_dir, background=False,
                              seed=args.seed)
    app.controls["n_train"].value = 64                                   # trains the second size once
    label = "OverfittingExplorer (networks, 500 samples)"
    times, err = time_changes(app, "n_train", cycle((16, 64), n), args.warmup)
    rows.append(Row(label, "n_train between trained runs (cached)", times, None, err))
    bands = [value for _, value in app.controls["band"].options]
    times, err = time_changes(app, "band", cycle(bands, n), args.warmup)
    rows.append(Row(label, "loss band (redraw)", times, None, err))


def machine_facts() -> str:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"python {platform.python_version()}, torch {torch.__version__}, torch threads "
            f"{torch.get_num_threads()} (interop {torch.get_num_interop_threads()}), CPUs {os.cpu_count()} "
            f"(usable {usable}), load average {load}, {platform.machine()} {platform.system()}")


def print_table(rows) -> None:
    header = ["widget", "change", "n", "median ms", "p95 ms", "target", "result"]
    body = [[r.widget, r.change, str(len(r.times_ms)), f"{r.median:.1f}", f"{r.p95:.1f}",
             f"median <= {r.target_ms:.0f} ms" if r.target_ms is not None else "-", r.verdict] for r in rows]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(line)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print(line)
    for cells in body:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)))
    print(line)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40, help="timed changes per kind (default 40)")
    parser.add_argument("--warmup", type=int, default=3, help="uncounted changes first (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--cifar", default=None, help="CIFAR-10 .npz (default: the local copy when found)")
    parser.add_argument("--leak-steps", type=int, default=200,
                        help="training steps of the toy networks (latency does not depend on it; default 200)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be >= 1 and --warmup >= 0")
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    rows: list[Row] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="widget_latency_") as cache_dir:
        for name, bench in (("TransformExplorer", bench_transform_explorer), ("ScoreFieldExplorer", bench_score_field),
                            ("SamplerExplorer", bench_sampler)):
            print(f"{name} ...", flush=True)
            bench(args, rng, rows)
        for name, bench in (("LeakageExplorer", bench_leakage), ("OverfittingExplorer", bench_overfitting)):
            print(f"{name} ...", flush=True)
            bench(args, rng, rows, cache_dir)
    print(f"\nwidget update latency, kernel side (headless), {args.repeats} changes per row after {args.warmup} "
          f"warm-up; total {time.perf_counter() - start:.0f} s")
    print(f"machine: {machine_facts()}")
    print_table(rows)
    failed = [r for r in rows if r.verdict.startswith("FAIL")]
    print(f"{len(rows) - len(failed)}/{len(rows)} rows pass" + (
        f"; failing: {', '.join(f'{r.widget} / {r.change}' for r in failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
