"""An nbgrader course folder as this toolkit lays it out, and the instructor's grading files inside it.

    <course>/nbgrader_config.py          course id, timeouts, the sandboxed autograde pipeline
    <course>/source/<assignment>/        the instructor's notebook: solutions, hidden parts, rubrics
    <course>/grading/<assignment>/       cases.py (the hidden inputs and how to call an answer on them: sent into
                                         the sandbox) and checks.py (oracles and tolerances: never leave the grader)
    <course>/right_answers/, wrong_answers/, cheats/  one file per assignment: the graders' own tests

Nothing in the installed package points at a course: commands take `--course DIR` ($SCOREAUG_COURSE, or the
current folder when it holds nbgrader_config.py), so a student's install carries no path to the answers.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

COURSE_ID = "scoreaug_lab"                       # as in the course's nbgrader_config.py
COURSE_FILES = ("nbgrader_config.py", "source", "grading", "right_answers", "wrong_answers", "cheats")


def course_root(root=None) -> Path:
    """The course folder: `root`, else $SCOREAUG_COURSE, else the current folder if it holds nbgrader_config.py."""
    chosen = root if root is not None else os.environ.get("SCOREAUG_COURSE")
    if chosen is None and Path("nbgrader_config.py").is_file():
        chosen = "."
    if chosen is None:
        raise ValueError("which course? pass --course DIR (the folder holding nbgrader_config.py) or set "
                         "SCOREAUG_COURSE")
    path = Path(chosen).resolve()
    if not (path / "nbgrader_config.py").is_file() or not (path / "source").is_dir():
        raise ValueError(f"{path} is not a course folder (it needs nbgrader_config.py and source/)")
    return path


def assignment_names(root) -> list[str]:
    return sorted(p.name for p in (Path(root) / "source").iterdir() if p.is_dir() and not p.name.startswith("."))


def check_assignment(root, name: str) -> str:
    if name not in assignment_names(root):
        raise ValueError(f"no assignment {name!r} in {root} (there are: {', '.join(assignment_names(root))})")
    return name


def source_notebook(root, name: str) -> Path:
    """The one notebook of an assignment in source/."""
    found = sorted((Path(root) / "source" / name).glob("*.ipynb"))
    if len(found) != 1:
        raise ValueError(f"assignment {name!r} must hold exactly one notebook in source/, found {len(found)}")
    return found[0]


def copy_course(root, dest) -> Path:
    """Copy the course's own files (config, source/, grading/, the catalogues) into `dest`: nothing generated."""
    root, dest = Path(root), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for item in COURSE_FILES:
        if (root / item).is_dir():
            shutil.copytree(root / item, dest / item, ignore=ignore, dirs_exist_ok=True)
        elif (root / item).is_file():
            shutil.copy2(root / item, dest / item)
    return dest


def _module_name(path: Path) -> str:
    path = path.resolve()
    return f"_scoreaug_grading_{abs(hash(str(path))):x}_{path.parent.name}_{path.stem}"


def load_module(path) -> object:
    """Load a grading file (cases.py, checks.py, a catalogue) as a module, once per path."""
    path = Path(path).resolve()
    name = _module_name(path)
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


def cases_beside(path):
    """In a checks.py: `cases = cases_beside(__file__)`, the cases.py of the same assignment."""
    return load_module(Path(path).with_name("cases.py"))


class Grading:
    """An assignment's grading files: its cases (as text for the sandbox, as a module for the checks) and checks."""

    def __init__(self, root, name: str):
        folder = Path(root) / "grading" / name
        if not (folder / "cases.py").is_file() or not (folder / "checks.py").is_file():
            raise ValueError(f"assignment {name!r} has no grading/{name}/cases.py and checks.py")
        self.cases_text = (folder / "cases.py").read_text()
        self.cases = load_module(folder / "cases.py")
        self.checks = load_module(folder / "checks.py")
        self.forbidden = dict(getattr(self.cases, "FORBIDDEN", {}))
        self.questions = dict(self.checks.CHECKS)
        differ = set(self.cases.PROBES) ^ set(self.questions)
        if differ:
            raise ValueError(f"grading/{name}: cases.PROBES and checks.CHECKS must name the same questions "
                             f"(they differ in {sorted(differ)})")


__all__ = ["COURSE_ID", "Grading", "assignment_names", "cases_beside", "check_assignment", "copy_course",
           "course_root", "load_module", "source_notebook"]
