"""Grading the course: per assignment, the time to autograde one submission in the sandbox and without it, side by
side, and how the graders do on their catalogues (right, wrong and cheating answers).

    python benchmarks/assignments.py [--size teach] [--names a1_denoisers_and_scores ...] [--no-catalogues]
                                     [--no-cheats] [--keep DIR]

In a temporary copy of notebooks/assignments/ it generates the student versions, then per assignment autogrades the
key twice with nbgrader and the course's configuration, once sandboxed and once with --unsandboxed (the same
notebook, one after the other), at the notebooks' teaching size (what an instructor runs; --size test is the test
suite's size). Times are wall-clock and include nbgrader's start and a fresh kernel (CPU time is not reported: the
processes inside the sandbox are not children the grader can account for). Then, at test size (only the test cells
matter there): the right, wrong and twin catalogues of every assignment (one sandboxed kernel each), and the
cheating submissions of the cheats catalogue with two honest students, in one sandboxed autograde.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from scoreaug_lab.course import cells as C
from scoreaug_lab.course import commands as K
from scoreaug_lab.course.catalogues import grade_catalogue
from scoreaug_lab.course.cheats import load_cheats, submission
from scoreaug_lab.course.layout import assignment_names, copy_course, source_notebook

COURSE = Path(__file__).resolve().parents[1] / "notebooks" / "assignments"


def autograde_one(root, name: str, student: str, size: str, unsandboxed: bool) -> tuple[float, float, float]:
    """(wall seconds, autograded points, autograded maximum) of one submission."""
    start = time.perf_counter()
    K.autograde(root, name, student=student, unsandboxed=unsandboxed, env={"SCOREAUG_SIZE": size, "MPLBACKEND": "Agg"})
    seconds = time.perf_counter() - start
    auto = [g for gid, g in K.grades(root, name, student).items() if gid.endswith(C.TESTS_SUFFIX)]
    return seconds, sum(g["score"] for g in auto), sum(g["max_score"] for g in auto)


def cheats_of(root, name: str) -> tuple[int, float, str]:
    """(cheats, points they earned on the questions they cheat on, honest students' scores) of one autograde."""
    cheats = load_cheats(root, name)
    if not cheats:
        return 0, 0.0, "-"
    honest = ("aa-honest", "zz-honest")
    for student in honest:
        K.submit(root, name, student, source_notebook(root, name))
    for cheat in cheats:
        K.submit(root, name, cheat.student, submission(root, name, cheat, victim=honest[1]))
    K.autograde(root, name, env={"SCOREAUG_SIZE": "test", "MPLBACKEND": "Agg"})
    earned = sum(K.grades(root, name, c.student)[q + C.TESTS_SUFFIX]["score"] for c in cheats for q in c.questions)
    kept = [sum(g["score"] for gid, g in K.grades(root, name, s).items() if gid.endswith(C.TESTS_SUFFIX))
            for s in honest]
    return len(cheats), earned, "/".join(f"{k:g}" for k in kept)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("teach", "test"), default="teach", help="notebook size (default teach)")
    parser.add_argument("--names", nargs="*", default=None, help="assignments (default: all)")
    parser.add_argument("--no-catalogues", action="store_true", help="skip the right/wrong/twin catalogues")
    parser.add_argument("--no-cheats", action="store_true", help="skip the cheating submissions")
    parser.add_argument("--keep", default=None, help="grade in this folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    names = args.names or assignment_names(COURSE)
    print(f"autograde at SCOREAUG_SIZE={args.size}; catalogues and cheats at SCOREAUG_SIZE=test; {os.cpu_count()} "
          f"cores", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_course(COURSE, Path(args.keep) if args.keep else Path(tmp) / "course")
        K.generate(root, names)
        for name in names:
            for student in ("key-sandboxed", "key-plain"):
                K.submit(root, name, student, source_notebook(root, name))
            sandboxed = autograde_one(root, name, "key-sandboxed", args.size, unsandboxed=False)
            plain = autograde_one(root, name, "key-plain", args.size, unsandboxed=True)
            row = {"name": name, "sandboxed": sandboxed, "plain": plain}
            print(f"  {name}: sandboxed {sandboxed[0]:.1f} s, {sandboxed[1]:g}/{sandboxed[2]:g} points; unsandboxed "
                  f"{plain[0]:.1f} s, {plain[1]:g}/{plain[2]:g}", flush=True)
            os.environ["SCOREAUG_SIZE"] = "test"
            if not args.no_catalogues:
                for kind in ("right", "wrong", "twin"):
                    report = grade_catalogue(root, name, kind)
                    row[kind] = f"{report.passed}/{len(report.results)}"
                    print("    " + report.lines()[0], flush=True)
            if not args.no_cheats:
                row["cheats"] = cheats_of(root, name)
                if row["cheats"][0]:
                    print(f"    cheats: {row['cheats'][0]} submissions earned {row['cheats'][1]:g} points on the "
                          f"questions they cheat on; honest students kept {row['cheats'][2]}", flush=True)
            os.environ.pop("SCOREAUG_SIZE", None)
            rows.append(row)

    print(f"\n(load average when done: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print("| assignment | grading one submission, sandboxed | unsandboxed | right answers with "
          "full marks | wrong answers caught | twin calls caught | cheating submissions: points earned |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        cheats = r.get("cheats")
        cheat_text = f"{cheats[0]}: {cheats[1]:g}" if cheats and cheats[0] else "-"
        print(f"| {r['name']} | {r['sandboxed'][0]:.1f} s | {r['plain'][0]:.1f} s | {r.get('right', '-')} | {r.get('wrong', '-')} | {r.get('twin', '-')} | "
              f"{cheat_text} |")


if __name__ == "__main__":
    main()
