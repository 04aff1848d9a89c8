"""Cheating submissions, graded by full sandboxed autogrades beside honest ones: the grading's attack tests.

`<course>/cheats/<assignment>.py` lists CHEATS, each a dict:

    name        what it tries
    questions   the questions it cheats on: it must earn 0 on each
    answers     {question: source} answer cells it replaces (the key's answer for every other question)
    cells       [source, ...] extra code cells a student adds after the setup cell, before any question
    after       {question: [source, ...]} extra cells right after that question's test cell
    remove      [question, ...] whose test cells it deletes

Sources may name `<course>` (the course folder) and `<victim>` (another student's id), which `submission` fills in,
so that attacks on the course's files aim at the real ones. tests/test_course_cheats.py submits every cheat and
honest victims into one course and autogrades them in one nbgrader run, each submission in its own sandbox.

TWIN_CHEATS (answers that call the library's own answer, and nothing else) need no fresh kernel: catalogues.py
grades them like the wrong answers, one kernel per assignment.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import cells as C
from .layout import load_module, source_notebook


@dataclass
class Cheat:
    name: str
    questions: list
    answers: dict = field(default_factory=dict)
    cells: list = field(default_factory=list)
    after: dict = field(default_factory=dict)
    remove: list = field(default_factory=list)

    @property
    def student(self) -> str:
        """A student id for this cheat (letters, digits and dashes, as nbgrader's folders need)."""
        return "cheat-" + hashlib.sha1(self.name.encode()).hexdigest()[:10]


def load_cheats(root, name: str) -> list[Cheat]:
    return [Cheat(**entry) for entry in getattr(load_module(Path(root) / "cheats" / f"{name}.py"), "CHEATS", [])]


def _code_cell(source: str):
    return nbformat.v4.new_code_cell(source)


def submission(root, name: str, cheat: Cheat, victim: str):
    """The key notebook of assignment `name` with the cheat's answers and cells in it."""
    nb = nbformat.read(str(source_notebook(root, name)), as_version=4)
    fill = {"<course>": str(Path(root).resolve()), "<victim>": victim}

    def filled(source: str) -> str:
        for key, value in fill.items():
            source = source.replace(key, value)
        return source

    solutions = C.solution_cells(nb)
    for question, source in cheat.answers.items():
        nb.cells[solutions[question]].source = filled(source)
    tests = C.test_cells(nb)
    inserts = [(index + 1, cheat.after[q]) for q, index in tests.items() if q in cheat.after]
    setup = next(i for i, c in enumerate(nb.cells) if C.nbgrader_meta(c).get("grade_id") == "setup")
    inserts.append((setup + 1, cheat.cells))
    for position, sources in sorted(inserts, key=lambda item: -item[0]):
        for source in reversed(sources):
            nb.cells.insert(position, _code_cell(filled(source)))
    removed = {f"{q}{C.TESTS_SUFFIX}" for q in cheat.remove}
    nb.cells = [c for c in nb.cells if C.nbgrader_meta(c).get("grade_id") not in removed]
    return nb


def file_digests(folder) -> dict:
    """{relative path: sha256} of every file under `folder` (to show that nothing changed)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


__all__ = ["Cheat", "file_digests", "load_cheats", "submission"]
