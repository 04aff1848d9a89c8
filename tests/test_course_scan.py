"""scan.py: the static screen finds the library's own answer and machinery, in every form a student could write
them, and flags nothing in the keys and the right answers of the course."""
from pathlib import Path

import nbformat
import pytest

from scoreaug_lab.course import cells as C
from scoreaug_lab.course.catalogues import load_answers
from scoreaug_lab.course.layout import Grading, assignment_names, source_notebook
from scoreaug_lab.course.scan import ALL_QUESTIONS, flags_for, scan

COURSE = Path(__file__).resolve().parents[1] / "notebooks" / "assignments"
FORBIDDEN = {"q3": ["scoreaug_lab.scores.ideal_denoiser", "scoreaug_lab.oracles.IdealDenoiser"],
             "q4": ["scoreaug_lab.scores.denoiser_to_score"]}
ANSWERS = {5: "q3", 7: "q4"}
LOCKED = ["import torch\nfrom scoreaug_lab import scores\nfrom scoreaug_lab.oracles import IdealDenoiser"]


def _flags(source: str, cell: int = 5):
    return scan([(cell, source)], FORBIDDEN, ANSWERS, LOCKED)


@pytest.mark.parametrize("source", [
    "def ideal_denoiser(y, s, t):\n    return scores.ideal_denoiser(y, s, t)",
    "from scoreaug_lab.scores import ideal_denoiser as mean\ndef ideal_denoiser(y, s, t):\n    return mean(y, s, t)",
    "def ideal_denoiser(y, s, t):\n    return IdealDenoiser(t)(y, s)",
    "def ideal_denoiser(y, s, t):\n    return getattr(scores, 'ideal_denoiser')(y, s, t)",
    "import scoreaug_lab.scores as S\ndef ideal_denoiser(y, s, t):\n    return S.ideal_denoiser(y, s, t)",
])
def test_the_twin_is_refused_in_every_spelling(source):
    flags = _flags(source)
    assert any(f.kind == "twin" and f.question == "q3" for f in flags), flags


def test_a_twin_counts_against_its_own_question_or_from_a_free_cell_only():
    use = "x = scores.denoiser_to_score"
    assert not [f for f in _flags(use, cell=5) if f.kind == "twin"]          # in q3's cell: q4's twin, q3 may use it
    assert [f.question for f in _flags(use, cell=7) if f.kind == "twin"] == ["q4"]
    assert [f.question for f in _flags(use, cell=9) if f.kind == "twin"] == ["q4"]   # a cell of no question


def test_the_students_own_function_of_the_same_name_is_not_the_twin():
    own = "def ideal_denoiser(y, s, t):\n    return t.mean(0)\nresult = ideal_denoiser(1, 2, 3)"
    assert _flags(own) == []


@pytest.mark.parametrize("source, found", [
    ("import os\nos.system('ls')", "import os"),
    ("get_ipython().ast_transformers.append(None)", "get_ipython"),
    ("torch.allclose = lambda *a, **k: True", "torch.allclose = ..."),
    ("import sys\nf = sys._getframe(1).f_locals", "_getframe"),
    ("exec(open('x').read())", "exec"),
    ("name = 'ideal_' + 'denoiser'\nf = getattr(scores, name)", "getattr with a computed name"),
    ("import importlib\nimportlib.reload(scores)", "import importlib"),
    ("from scoreaug_lab.course.records import record", "from scoreaug_lab.course.records import ..."),
    ("f = scores.ideal_denoiser.__code__", "__code__"),
    ("import sqlite3", "import sqlite3"),
    ("%time x = 1\n!ls /", "get_ipython"),
])
def test_machinery_is_held_for_review(source, found):
    flags = [f for f in _flags(source) if f.kind == "machinery"]
    assert any(found in f.text for f in flags), flags
    assert all(f.question == "q3" for f in flags)                     # the question of the cell it is in
    free = [f for f in _flags(source, cell=9) if f.kind == "machinery"]
    assert free and all(f.question == ALL_QUESTIONS for f in free) and flags_for(free, "q4") == free


@pytest.mark.parametrize("source", [
    "import warnings\nwarnings.warn('careful')",
    "import sys\nprint('progress', file=sys.stderr)",
    "from tqdm.auto import tqdm\nfor i in tqdm(range(3)):\n    pass",
    "getattr(transform, 'omega_dim', 0)",
    "x = torch.compile",
    "for record in [1, 2]:\n    print(record)",
    "def f(:\n    broken syntax",
])
def test_honest_code_is_not_flagged(source):
    assert _flags(source) == []


@pytest.mark.parametrize("name", assignment_names(COURSE))
def test_no_key_and_no_right_answer_is_flagged(name):
    nb = nbformat.read(str(source_notebook(COURSE, name)), as_version=4)
    grading = Grading(COURSE, name)
    answers = {i: q for q, i in C.solution_cells(nb).items()}
    assert scan(C.student_code_cells(nb), grading.forbidden, answers, C.locked_code(nb)) == []
    for answer in load_answers(COURSE, "right", name):
        index = C.solution_cells(nb)[answer.question]
        varied = C.with_sources(nb, {index: answer.apply(nb.cells[index].source)})
        flags = scan(C.student_code_cells(varied), grading.forbidden, answers, C.locked_code(varied))
        assert flags == [], f"{answer.name}: {flags}"
