"""catalogues.py, the graders graded: in the sandbox, one kernel per assignment and catalogue, scored by
nbgrader's own rule. Every right answer (other forms, other library calls, loops, float32, warnings, progress
bars, stderr) gets full marks; every wrong answer and every call of the library's own answer loses all of its own
question's points and no other's. At least 3 right and 5 wrong answers per autograded question."""
from pathlib import Path

import nbformat
import pytest

from scoreaug_lab.course import cells as C
from scoreaug_lab.course.catalogues import grade_catalogue, load_answers
from scoreaug_lab.course.layout import assignment_names, source_notebook

COURSE = Path(__file__).resolve().parents[1] / "notebooks" / "assignments"
NAMES = assignment_names(COURSE)
MINIMUM = {"right": 3, "wrong": 5}


@pytest.mark.parametrize("name", NAMES)
def test_every_question_has_its_catalogues(name):
    nb = nbformat.read(str(source_notebook(COURSE, name)), as_version=4)
    questions = C.solution_cells(nb)
    for kind, least in MINIMUM.items():
        answers = load_answers(COURSE, kind, name)
        for question in questions:
            count = sum(a.question == question for a in answers)
            assert count >= least, f"{name}, {question}: {count} {kind} answers, want >= {least}"
        for answer in answers:                              # each edit finds its text in the key, once
            assert answer.apply(nb.cells[questions[answer.question]].source) != nb.cells[questions[answer.question]].source
        assert len({(a.question, a.name) for a in answers}) == len(answers), "names are unique per question"
    assert load_answers(COURSE, "twin", name), f"{name}: no answer calling the library's own answer"


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("kind", ["right", "wrong", "twin"])
@pytest.mark.parametrize("name", NAMES)
def test_the_catalogue_is_graded_as_it_should(sandbox, name, kind, monkeypatch):
    monkeypatch.setenv("SCOREAUG_SIZE", "test")
    report = grade_catalogue(COURSE, name, kind)
    print("\n".join(report.lines()))
    assert not report.key.lost(), f"the key loses points: {report.key.reasons}"
    wrong = [line for line in report.lines()[1:] if not line.strip().startswith("ok")]
    assert report.passed == len(report.results), "\n".join(wrong)
