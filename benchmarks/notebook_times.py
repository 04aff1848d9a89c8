"""How long each walkthrough notebook takes at teaching size, cold and against a prepared run store, and how
big it is once executed.

    python benchmarks/notebook_times.py [NOTEBOOK ...] [--size teach|test] [--no-cold] [--no-prepared]
                                        [--store DIR] [--workers N] [--keep DIR] [--widgets N] [--timeout S]

NOTEBOOK: names or number prefixes (00, 04, 06_cifar10_scale, ...); default every notebook in notebooks/.

cold      each notebook runs top to bottom (nbclient, a fresh kernel) against its own empty run store
          (SCOREAUG_RUNS = a new temporary folder): the worst case, nothing shared between notebooks. The
          walkthrough's cold total is the sum (an upper bound: run in order, 05 reuses 04's digits runs).
prepared  `scoreaug-lab prepare NOTEBOOK ...` fills one store first (timed, printed), then every notebook runs
          against it with SCOREAUG_FORBID_TRAINING=1, so a run the store lacks fails the notebook instead of
          training quietly. --store DIR uses (and fills, resumably) that folder instead of a temporary one.

The executed size is that of the .ipynb with its outputs and the widget state nbclient saves (what
`jupyter nbconvert --execute` or JupyterLab with "save widget state" writes after Run All); --widgets N lists the
N largest saved widget states (model name, description, bytes) per notebook. --keep DIR writes the executed
notebooks there. Every time comes with the load average and with the CPU seconds of the kernel and the worker
processes it trained in: on a shared machine wall times stretch with the load (on 2 cores a load of 4 roughly
doubles them), CPU seconds much less.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TARGETS = {"prepared": 60.0, "cold": {"04": 360.0, "05": 360.0, "06": 360.0}, "walkthrough": 25 * 60.0, "mb": 5.0}


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def select(names) -> list[Path]:
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        hits = [p for p in every if p.stem == name or p.stem.startswith(name) or p.name == name]
        if not hits:
            sys.exit(f"notebook_times: no notebook matches {name!r} (have {', '.join(p.stem[:2] for p in every)})")
        chosen += [p for p in hits if p not in chosen]
    return chosen


def widget_sizes(nb) -> list[tuple[int, str, str]]:
    """[(bytes, model name, description)] of the notebook's saved widget state, largest first."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    rows = []
    for model_id, entry in state.items():
        s = entry.get("state", {})
        label = s.get("description") or s.get("_view_name") or ""
        rows.append((len(json.dumps(entry)), entry.get("model_name", "?"), f"{label} {model_id[:8]}"))
    return sorted(rows, reverse=True)


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children and their own reaped children: a kernel,
    once shut down, with the worker processes it trained in."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def execute(path: Path, env: dict, timeout: int, keep: Path | None, tag: str):
    """Run a notebook in a fresh kernel with `env` added; (seconds, executed bytes, widget bytes, nb, error,
    CPU seconds of the kernel and its workers)."""
    nb = nbformat.read(path, as_version=4)
    cpu = children_cpu()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    error = None
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        clock = time.perf_counter()
        try:
            client.execute()
        except Exception as err:  # noqa: BLE001 - reported in the table
            error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
        seconds = time.perf_counter() - clock
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    text = nbformat.writes(nb)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        (keep / f"{path.stem}.{tag}.ipynb").write_text(text)
    widgets = len(json.dumps(nb.metadata.get("widgets", {})))
    return seconds, len(text.encode()), widgets, nb, error, children_cpu() - cpu


def prepare(paths, store: Path, size: str, workers) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "scoreaug_lab.cli", "prepare", *[p.stem[:2] for p in paths], "--size", size,
           "--runs", str(store)] + (["--workers", str(workers)] if workers else [])
    print(f"$ scoreaug-lab prepare {' '.join(cmd[4:])}   (load {loadavg()})", flush=True)
    clock, cpu = time.perf_counter(), children_cpu()
    subprocess.run(cmd, check=True, cwd=ROOT)
    seconds, cpu = time.perf_counter() - clock, children_cpu() - cpu
    print(f"prepare: {seconds:.0f} s, CPU {cpu:.0f} s (load {loadavg()})", flush=True)
    return seconds, cpu


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="*", help="names or number prefixes (default: all)")
    p.add_argument("--size", default="teach", choices=("teach", "test"), help="SCOREAUG_SIZE (default teach)")
    p.add_argument("--no-cold", action="store_true", help="skip the cold pass")
    p.add_argument("--no-prepared", action="store_true", help="skip the prepared pass")
    p.add_argument("--store", default=None, help="prepared store folder (default: a temporary one)")
    p.add_argument("--workers", type=int, default=None, help="prepare's worker processes (default: every core)")
    p.add_argument("--keep", default=None, help="write the executed notebooks into this folder")
    p.add_argument("--widgets", type=int, default=0, help="list the N largest saved widget states per notebook")
    p.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds (default 1800)")
    args = p.parse_args(argv)
    paths = select(args.notebooks)
    keep = Path(args.keep) if args.keep else None
    base = {"SCOREAUG_SIZE": args.size}
    print(f"notebooks: {', '.join(p.stem for p in paths)}; size {args.size}; {os.cpu_count()} CPU(s); "
          f"load average {loadavg()}", flush=True)
    rows = {p.stem: {} for p in paths}

    def report(kind, path, result):
        seconds, size, widgets, nb, error, cpu = result
        rows[path.stem].update({kind: seconds, f"{kind}_mb": size / 1e6, f"{kind}_widgets_mb": widgets / 1e6,
                                f"{kind}_error": error, f"{kind}_load": loadavg(), f"{kind}_cpu": cpu})
        print(f"  {path.stem} {kind}: {seconds:6.1f} s (CPU {cpu:.0f} s), {size / 1e6:.2f} MB (widget state "
              f"{widgets / 1e6:.2f} MB), load {loadavg()}" + (f"  FAILED {error}" if error else ""), flush=True)
        for b, model, label in widget_sizes(nb)[:args.widgets]:
            print(f"      {b / 1e3:9.1f} kB  {model:24s} {label}")

    with tempfile.TemporaryDirectory(prefix="scoreaug-nbtimes-") as tmp:
        tmp = Path(tmp)
        if not args.no_cold:
            print("cold pass (each notebook against its own empty store):", flush=True)
            for path in paths:
                env = {**base, "SCOREAUG_RUNS": str(tmp / f"cold-{path.stem[:2]}")}
                report("cold", path, execute(path, env, args.timeout, keep, "cold"))
        prepare_seconds = None
        if not args.no_prepared:
            store = Path(args.store) if args.store else tmp / "prepared"
            prepare_seconds, prepare_cpu = prepare(paths, store, args.size, args.workers)
            print("prepared pass (SCOREAUG_FORBID_TRAINING=1):", flush=True)
            for path in paths:
                env = {**base, "SCOREAUG_RUNS": str(store), "SCOREAUG_FORBID_TRAINING": "1"}
                report("prepared", path, execute(path, env, args.timeout, keep, "prepared"))

    def cell(row, kind):
        if kind not in row:
            return "-"
        return f"{row[kind]:.0f}" + (" FAILED" if row.get(f"{kind}_error") else "")

    print(f"\nsize {args.size}, {os.cpu_count()} CPU(s); wall seconds, CPU seconds of the kernel and its worker "
          "processes, load average at the end of each run")
    print(f"{'notebook':34s} {'cold s':>10s} {'CPU s':>6s} {'load':>5s} {'prepared s':>11s} {'CPU s':>6s} {'load':>5s} "
          f"{'executed MB':>12s} {'widgets MB':>11s}")
    for stem, row in rows.items():
        mb = row.get("prepared_mb", row.get("cold_mb"))
        wmb = row.get("prepared_widgets_mb", row.get("cold_widgets_mb"))
        cpu = {k: f"{row[k + '_cpu']:.0f}" if k + "_cpu" in row else "-" for k in ("cold", "prepared")}
        print(f"{stem:34s} {cell(row, 'cold'):>10s} {cpu['cold']:>6s} {row.get('cold_load', '-'):>5s} "
              f"{cell(row, 'prepared'):>11s} {cpu['prepared']:>6s} {row.get('prepared_load', '-'):>5s} "
              f"{('-' if mb is None else f'{mb:.2f}'):>12s} {('-' if wmb is None else f'{wmb:.2f}'):>11s}")
    if not args.no_cold:
        total = sum(r["cold"] for r in rows.values() if "cold" in r)
        cpu = sum(r["cold_cpu"] for r in rows.values() if "cold_cpu" in r)
        print(f"walkthrough, cold (sum of the cold runs above): {total:.0f} s = {total / 60:.1f} min, CPU {cpu:.0f} s "
              f"(target {TARGETS['walkthrough'] / 60:.0f} min at teaching size on a quiet 2-core CPU)")
    if prepare_seconds is not None:
        print(f"prepare of these notebooks: {prepare_seconds:.0f} s, CPU {prepare_cpu:.0f} s")
    failed = [s for s, r in rows.items() if r.get("cold_error") or r.get("prepared_error")]
    if failed:
        print("FAILED: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
