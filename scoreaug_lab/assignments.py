"""Instructor-side tools for the nbgrader course in notebooks/assignments/ (students never need this module).

The course follows nbgrader's layout: `source/<assignment>/<notebook>.ipynb` holds solutions (### BEGIN SOLUTION),
hidden tests (### BEGIN HIDDEN TESTS) and the rubric of the hand-graded answer; `nbgrader generate_assignment`
writes the student versions to `release/`. Every autograded question has a solution cell `<q>` and one test cell
`<q>_tests`. `wrong_answers/<assignment>.py` lists plausible wrong answers per question (`WRONG_ANSWERS`); outside
`source/`, so nothing of it is released.

    python -m scoreaug_lab.assignments generate            # the student versions, in notebooks/assignments/release
    python -m scoreaug_lab.assignments kill [NAME ...]     # does every wrong answer lose points on its own question?

`kill_matrix` grades the graders in one kernel per assignment: it runs the solution notebook, then for each wrong
answer re-runs that question's solution cell with the wrong code and every autograded test cell, records which
fail, and restores the solution. `nbgrader` runs the real commands (generate, autograde, feedback, export) in a
course folder, e.g. a temporary copy from `copy_course`; `grades` reads one submission's scores from the gradebook.
"""
from __future__ import annotations

import argparse
import copy
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

COURSE = Path(__file__).resolve().parents[1] / "notebooks" / "assignments"
COURSE_ID = "scoreaug_lab"                       # as in the course's nbgrader_config.py
TESTS_SUFFIX = "_tests"                          # test cell of question q: grade_id q + "_tests"
COURSE_FILES = ("nbgrader_config.py", "source", "wrong_answers")


def course_root(root=None) -> Path:
    return Path(root) if root is not None else COURSE


def assignment_names(root=None) -> list[str]:
    return sorted(p.name for p in (course_root(root) / "source").iterdir() if p.is_dir())


def source_notebook(name: str, root=None) -> Path:
    """The one notebook of an assignment in source/."""
    found = sorted((course_root(root) / "source" / name).glob("*.ipynb"))
    if len(found) != 1:
        raise ValueError(f"assignment {name!r} must hold exactly one notebook in source/, found {len(found)}")
    return found[0]


def copy_course(dest, root=None) -> Path:
    """Copy the course's own files (config, source/, wrong_answers/) into `dest`: nothing generated comes along."""
    dest, root = Path(dest), course_root(root)
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for item in COURSE_FILES:
        if (root / item).is_dir():
            shutil.copytree(root / item, dest / item, ignore=ignore, dirs_exist_ok=True)
        elif (root / item).is_file():
            shutil.copy2(root / item, dest / item)
    return dest


def tool_env(env: dict | None = None) -> dict:
    """os.environ (plus `env`) with this Python's scripts folder first on PATH: nbgrader's gradebook runs the
    `alembic` command, which lives next to the interpreter (e.g. .venv/bin) even when that is not on PATH."""
    merged = {**os.environ, **(env or {})}
    merged["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), merged.get("PATH", "")])
    return merged


def nbgrader(args, root, timeout: float = 900, env: dict | None = None) -> str:
    """Run `nbgrader ARGS` in the course folder `root`; its output, or a RuntimeError that shows it."""
    root = Path(root).resolve()
    command = [sys.executable, "-m", "nbgrader", *map(str, args), f"--CourseDirectory.root={root}"]
    done = subprocess.run(command, cwd=root, env=tool_env(env), capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed with code {done.returncode}:\n{output[-4000:]}")
    return output


def generate(root=None, names=None) -> list[Path]:
    """`nbgrader generate_assignment NAME --force` for the given assignments (one command, "*", for all of
    them); the released notebooks."""
    root = course_root(root)
    every = assignment_names(root)
    names = every if names is None else list(names)
    for pattern in (["*"] if names == every else names):
        nbgrader(["generate_assignment", pattern, "--force"], root)
    return [root / "release" / name / source_notebook(name, root).name for name in names]


def submit(root, name: str, student: str, notebook) -> Path:
    """Place a notebook (a path or a NotebookNode) as `student`'s submission of assignment `name`."""
    target = Path(root) / "submitted" / student / name / source_notebook(name, root).name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, nbformat.NotebookNode):
        nbformat.write(notebook, str(target))
    else:
        shutil.copy2(notebook, target)
    return target


def grades(root, name: str, student: str) -> dict:
    """{grade_id: {"score", "max_score", "needs_manual_grade"}} of one autograded submission (test cells are named
    <question>_tests, hand-graded answers by their question)."""
    from nbgrader.api import Gradebook

    notebook = source_notebook(name, root).stem
    saved = os.environ.get("PATH")
    os.environ["PATH"] = tool_env()["PATH"]                 # the gradebook checks its schema with `alembic`
    try:
        with Gradebook(f"sqlite:///{Path(root).resolve() / 'gradebook.db'}", course_id=COURSE_ID) as gb:
            sub = gb.find_submission_notebook(notebook, name, student)
            return {g.name: {"score": g.score, "max_score": g.max_score, "needs_manual_grade": g.needs_manual_grade}
                    for g in sub.grades}
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved


# --- cells and wrong answers ---------------------------------------------------------------------------------
def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cells(nb) -> dict:
    """{question: cell index} of the autograded answers (code cells with solution=True)."""
    return {_nbgrader(c)["grade_id"]: i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and _nbgrader(c).get("solution")}


def test_cells(nb) -> dict:
    """{question: cell index} of the autograded test cells (grade=True code cells named <question>_tests)."""
    out = {}
    for i, c in enumerate(nb.cells):
        meta = _nbgrader(c)
        if c.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            gid = meta["grade_id"]
            if not gid.endswith(TESTS_SUFFIX):
                raise ValueError(f"test cell {gid!r} must be named <question>{TESTS_SUFFIX}")
            out[gid[: -len(TESTS_SUFFIX)]] = i
    return out


@dataclass
class WrongAnswer:
    """A plausible mistake in one question: (old, new) text replacements in its solution cell."""

    question: str
    name: str
    replace: list

    def apply(self, source: str) -> str:
        for old, new in self.replace:
            if source.count(old) != 1:
                raise ValueError(f"wrong answer {self.name!r}: {old!r} occurs {source.count(old)} times in the "
                                 f"solution cell of {self.question!r} (expected once)")
            source = source.replace(old, new)
        return source


def load_wrong_answers(name: str, root=None) -> list[WrongAnswer]:
    path = course_root(root) / "wrong_answers" / f"{name}.py"
    return [WrongAnswer(**entry) for entry in runpy.run_path(str(path))["WRONG_ANSWERS"]]


def inject(nb, wrong: WrongAnswer):
    """A copy of the notebook with `wrong` swapped into its question's solution cell."""
    out = copy.deepcopy(nb)
    cell = out.cells[solution_cells(nb)[wrong.question]]
    cell.source = wrong.apply(cell.source)
    return out


# --- the kill matrix -----------------------------------------------------------------------------------------
def strip_hidden(source: str) -> str:
    """A test cell as the student sees it: without the lines from ### BEGIN HIDDEN TESTS to ### END HIDDEN TESTS."""
    kept, hidden = [], False
    for line in source.splitlines():
        if line.strip() == "### BEGIN HIDDEN TESTS":
            hidden = True
        elif line.strip() == "### END HIDDEN TESTS":
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


@dataclass
class KillResult:
    wrong: WrongAnswer
    failed: list                    # questions whose test cell failed with the wrong answer in
    visible: bool = False           # the visible tests alone already fail it (the student sees it when validating)

    @property
    def caught(self) -> bool:
        """Lost points on its own question and on no other."""
        return self.failed == [self.wrong.question]


@dataclass
class KillReport:
    name: str
    key_failures: list              # questions the solution itself fails (must be empty)
    results: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def caught(self) -> int:
        return sum(r.caught for r in self.results)

    @property
    def kill_rate(self) -> float:
        return self.caught / len(self.results) if self.results else float("nan")

    def lines(self) -> list[str]:
        out = [f"{self.name}: {self.caught}/{len(self.results)} wrong answers caught "
               f"({100 * self.kill_rate:.0f} %), {self.seconds:.1f} s"]
        if self.key_failures:
            out.append(f"  THE SOLUTION FAILS: {', '.join(self.key_failures)}")
        for r in self.results:
            mark = "caught" if r.caught else "MISSED"
            seen = "visible and hidden tests" if r.visible else "hidden tests only"
            out.append(f"  {mark:6s} {r.wrong.question}: {r.wrong.name} -> fails {', '.join(r.failed) or 'nothing'}"
                       + (f" ({seen})" if r.caught else ""))
        return out


def _failed(cell) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


def kill_matrix(name: str, root=None, timeout: float = 120, env: dict | None = None) -> KillReport:
    """Run the solution notebook in one kernel, then swap each wrong answer in (see the module docstring)."""
    from nbclient import NotebookClient

    start = time.perf_counter()
    nb = nbformat.read(str(source_notebook(name, root)), as_version=4)
    wrongs = load_wrong_answers(name, root)
    solutions, tests = solution_cells(nb), test_cells(nb)
    for wrong in wrongs:
        if wrong.question not in solutions or wrong.question not in tests:
            raise ValueError(f"wrong answer {wrong.name!r}: no solution and test cell for {wrong.question!r}")
    pristine = copy.deepcopy(nb.cells)              # nbclient stores the cells it executes back into `nb`
    with tempfile.TemporaryDirectory() as work:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": work}})

        def run(index: int, source: str | None = None):
            cell = copy.deepcopy(pristine[index])
            if source is not None:
                cell.source = source
            client.execute_cell(cell, index)
            return cell

        def failing_tests() -> list:
            return [q for q, i in tests.items() if _failed(run(i))]

        with client.setup_kernel(env={**os.environ, **(env or {})}):
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, i)
            report = KillReport(name, [q for q, i in tests.items() if _failed(nb.cells[i])])
            for wrong in wrongs:
                index = solutions[wrong.question]
                if _failed(run(index, wrong.apply(pristine[index].source))):
                    raise ValueError(f"wrong answer {wrong.name!r} of {wrong.question!r} does not even run: its "
                                     "definitions would not replace the solution's")
                failed = failing_tests()
                visible = _failed(run(tests[wrong.question], strip_hidden(pristine[tests[wrong.question]].source)))
                report.results.append(KillResult(wrong, failed, visible))
                run(index)                                          # the solution again
    report.seconds = time.perf_counter() - start
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scoreaug_lab.assignments", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("generate", "kill"))
    parser.add_argument("names", nargs="*", help="assignments (default: all)")
    parser.add_argument("--root", default=None, help=f"the course folder (default: {COURSE})")
    args = parser.parse_args(argv)
    names = args.names or assignment_names(args.root)
    if args.command == "generate":
        for path in generate(args.root, names):
            print(f"student version: {path}")
        return 0
    reports = [kill_matrix(name, args.root) for name in names]
    for report in reports:
        print("\n".join(report.lines()))
    return 0 if all(r.caught == len(r.results) and not r.key_failures for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
