"""Grading the course: autograde time of one submission per assignment, and the kill rate of its tests.

    python benchmarks/assignments.py [--size teach] [--names a1_denoisers_and_scores ...] [--keep DIR] [--no-kill]

In a temporary copy of notebooks/assignments/ it generates the student versions, then per assignment times
`nbgrader autograde NAME --student S` for two submissions, the solution ("key") and the untouched student version
("blank"), at the notebooks' teaching size (what an instructor runs; --size test is the test suite's size), and
prints their autograded points. Then it runs the kill matrix (scoreaug_lab.assignments.kill_matrix, at test size:
only the test cells matter there): how many catalogued wrong answers lose points on their own question alone.
The times include nbgrader's start (about 3 s) and a fresh kernel per submission; besides the wall time it prints
the CPU time (user + system) of nbgrader and its kernel, which does not grow when other work shares the machine.
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import nbformat

from scoreaug_lab import assignments as A


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far: nbgrader and the kernels it ran."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def autograde_one(root, name: str, student: str, size: str) -> tuple[float, float, float, float]:
    """(wall seconds, CPU seconds, autograded points, autograded maximum) of one submission."""
    start, cpu = time.perf_counter(), children_cpu()
    A.nbgrader(["autograde", name, "--student", student, "--force"], root,
               env={"SCOREAUG_SIZE": size, "MPLBACKEND": "Agg"})
    seconds, cpu = time.perf_counter() - start, children_cpu() - cpu
    auto = [g for gid, g in A.grades(root, name, student).items() if gid.endswith(A.TESTS_SUFFIX)]   # test cells
    return seconds, cpu, sum(g["score"] for g in auto), sum(g["max_score"] for g in auto)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("teach", "test"), default="teach",
                        help="notebook size for autograding (default teach)")
    parser.add_argument("--names", nargs="*", default=None, help="assignments (default: all)")
    parser.add_argument("--no-kill", action="store_true", help="skip the kill matrix")
    parser.add_argument("--keep", default=None, help="grade in this folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    names = args.names or A.assignment_names()
    print(f"autograde at SCOREAUG_SIZE={args.size}; kill matrix at SCOREAUG_SIZE=test; assignments: {', '.join(names)}")
    rows, reports = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        root = A.copy_course(Path(args.keep) if args.keep else tmp)
        A.generate(root, names)
        for name in names:
            notebook = A.source_notebook(name, root)
            A.submit(root, name, "key", notebook)
            A.submit(root, name, "blank", root / "release" / name / notebook.name)
            key = autograde_one(root, name, "key", args.size)
            blank = autograde_one(root, name, "blank", args.size)
            rows.append((name, key, blank))
            print(f"  {name}: key {key[0]:.1f} s wall, {key[1]:.1f} s CPU ({key[2]:g}/{key[3]:g} autograded points); "
                  f"blank {blank[0]:.1f} s wall, {blank[1]:.1f} s CPU ({blank[2]:g}/{blank[3]:g})", flush=True)
    if not args.no_kill:
        for name in names:
            reports[name] = A.kill_matrix(name, env={"SCOREAUG_SIZE": "test", "MPLBACKEND": "Agg"})
            print("\n".join(reports[name].lines()), flush=True)

    print(f"\n(load average when done: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; wall time grows with load, "
          "CPU time does not)")
    print("| assignment | points (autograded + by hand) | autograde key: wall, CPU | autograde student version: wall, CPU | "
          "wrong answers caught |")
    print("|---|---|---|---|---|")
    for name, key, blank in rows:
        nb = nbformat.read(str(A.source_notebook(name)), as_version=4)
        total = sum(c.metadata["nbgrader"]["points"] for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("grade"))
        report = reports.get(name)
        kill = f"{report.caught}/{len(report.results)} ({100 * report.kill_rate:.0f} %)" if report else "-"
        print(f"| {name} | {total:g} ({key[3]:g} + {total - key[3]:g}) | {key[0]:.0f} s, {key[1]:.0f} s "
              f"({key[2]:g}/{key[3]:g}) | {blank[0]:.0f} s, {blank[1]:.0f} s ({blank[2]:g}/{blank[3]:g}) | {kill} |")


if __name__ == "__main__":
    main()
