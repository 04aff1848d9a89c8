"""nbgrader's own commands on a course folder (a subprocess each, as an instructor would type them).

    generate(root)                    nbgrader generate_assignment: the student versions in release/
    submit(root, name, student, nb)   put a notebook where nbgrader collect would: submitted/<student>/<name>/
    autograde(root, name, ...)        nbgrader autograde, sandboxed by the course's nbgrader_config.py
    grades(root, name, student)       one submission's scores from the gradebook (comments: its comments)
    exchange_root(root)               the exchange the course's nbgrader_config.py names (None: nbgrader's default)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from .layout import COURSE_ID, assignment_names, source_notebook


def tool_env(env: dict | None = None) -> dict:
    """os.environ (plus `env`) with this Python's scripts folder first on PATH: nbgrader's gradebook runs the
    `alembic` command, which lives next to the interpreter (e.g. .venv/bin) even when that is not on PATH."""
    merged = {**os.environ, **(env or {})}
    merged["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), merged.get("PATH", "")])
    return merged


def nbgrader(args, root, timeout: float = 3600, env: dict | None = None) -> str:
    """Run `nbgrader ARGS` in the course folder `root`; its output, or a RuntimeError that shows it."""
    root = Path(root).resolve()
    command = [sys.executable, "-m", "nbgrader", *map(str, args), f"--CourseDirectory.root={root}"]
    done = subprocess.run(command, cwd=root, env=tool_env(env), capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed with code {done.returncode}:\n{output[-4000:]}")
    return output


def generate(root, names=None) -> list[Path]:
    """`nbgrader generate_assignment NAME --force` for the given assignments (one command, "*", for all of them);
    the released notebooks."""
    every = assignment_names(root)
    names = every if names is None else list(names)
    for pattern in (["*"] if names == every else names):
        nbgrader(["generate_assignment", pattern, "--force"], root)
    return [Path(root) / "release" / name / source_notebook(root, name).name for name in names]


def exchange_root(root) -> Path | None:
    """The exchange folder the course's nbgrader_config.py names (c.Exchange.root), read as nbgrader reads that file;
    None where it names none, so that nbgrader would fall back on its default /usr/local/share/nbgrader/exchange."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", str(Path(root).resolve())).load_config()
    return Path(config.Exchange.root) if "root" in config.Exchange else None


def autograde(root, name: str, student: str | None = None, unsandboxed: bool = False, env: dict | None = None,
              timeout: float = 3600) -> str:
    """`nbgrader autograde NAME --force` (for one `student`, or every submission), sandboxed unless `unsandboxed`."""
    args = ["autograde", name, "--force"] + (["--student", student] if student else [])
    if unsandboxed:
        args.append("--SandboxedExecute.sandbox=False")
    return nbgrader(args, root, timeout=timeout, env=env)


def submit(root, name: str, student: str, notebook) -> Path:
    """Place a notebook (a path or a NotebookNode) as `student`'s submission of assignment `name`."""
    target = Path(root) / "submitted" / student / name / source_notebook(root, name).name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, nbformat.NotebookNode):
        nbformat.write(notebook, str(target))
    else:
        shutil.copy2(notebook, target)
    return target


def _submission(root, name: str, student: str, read):
    """`read(submitted notebook)` inside the gradebook of the course."""
    from nbgrader.api import Gradebook

    notebook = source_notebook(root, name).stem
    saved = os.environ.get("PATH")
    os.environ["PATH"] = tool_env()["PATH"]                 # the gradebook checks its schema with `alembic`
    try:
        with Gradebook(f"sqlite:///{Path(root).resolve() / 'gradebook.db'}", course_id=COURSE_ID) as gb:
            return read(gb.find_submission_notebook(notebook, name, student))
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved


def grades(root, name: str, student: str) -> dict:
    """{grade_id: {"score", "max_score", "needs_manual_grade"}} of one autograded submission."""
    return _submission(root, name, student, lambda sub: {
        g.name: {"score": g.score, "max_score": g.max_score, "needs_manual_grade": g.needs_manual_grade}
        for g in sub.grades})


def comments(root, name: str, student: str) -> dict:
    """{cell: the autograder's comment} of one autograded submission (answer cells)."""
    return _submission(root, name, student, lambda sub: {c.name: c.auto_comment for c in sub.comments})


__all__ = ["autograde", "comments", "exchange_root", "generate", "grades", "nbgrader", "submit", "tool_env"]
