"""The cells of an nbgrader notebook, as the course lays them out.

Every autograded question is a solution cell with grade id `q<N>_<name>` and one locked test cell
`q<N>_<name>_tests` that starts with `# Tests for question N`: its visible tests give the student feedback when
validating; its hidden part (between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS`, never released) is
one call, `record("<question>", <function>)`, that hands the student's function to the grader's probes.
"""
from __future__ import annotations

import copy

TESTS_SUFFIX = "_tests"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cells(nb) -> dict:
    """{question: cell index} of the autograded answers (code cells with solution=True)."""
    return {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and nbgrader_meta(c).get("solution")}


def test_cells(nb) -> dict:
    """{question: cell index} of the autograded test cells (grade=True code cells named <question>_tests)."""
    out = {}
    for i, c in enumerate(nb.cells):
        meta = nbgrader_meta(c)
        if c.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            gid = meta["grade_id"]
            if not gid.endswith(TESTS_SUFFIX):
                raise ValueError(f"test cell {gid!r} must be named <question>{TESTS_SUFFIX}")
            out[gid[: -len(TESTS_SUFFIX)]] = i
    return out


def points(nb) -> dict:
    """{grade id: points} of every graded cell (autograded tests and hand-graded answers)."""
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"]) for c in nb.cells
            if nbgrader_meta(c).get("grade")}


def student_code_cells(nb) -> list:
    """[(index, source)] of the code cells a student may edit (every code cell nbgrader does not lock)."""
    return [(i, c.source) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and not nbgrader_meta(c).get("locked")]


def locked_code(nb) -> list:
    return [c.source for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("locked")]


def strip_hidden(source: str) -> str:
    """A test cell as the student sees it: without the lines from the hidden-tests markers to their end."""
    kept, hidden = [], False
    for line in source.splitlines():
        if line.strip() == HIDDEN_BEGIN:
            hidden = True
        elif line.strip() == HIDDEN_END:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def with_sources(nb, sources: dict):
    """A copy of the notebook with cell i's source replaced by sources[i]."""
    out = copy.deepcopy(nb)
    for index, source in sources.items():
        out.cells[index].source = source
    return out


__all__ = ["HIDDEN_BEGIN", "HIDDEN_END", "TESTS_SUFFIX", "locked_code", "nbgrader_meta", "points",
           "solution_cells", "strip_hidden", "student_code_cells", "test_cells", "with_sources"]
