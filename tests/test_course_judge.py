"""judge.py: a question passes only on a record of its own test cell that the grader's checks accept, and the
test cell then carries outputs that nbgrader's own rule (determine_grade) scores as exactly that verdict."""
import json
import os
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat import NotebookNode
from nbgrader.utils import determine_grade

from scoreaug_lab.course import cells as C
from scoreaug_lab.course.guard import refusing
from scoreaug_lab.course.judge import Verdict, clean_output, graded_outputs, judge
from scoreaug_lab.course.layout import Grading, source_notebook
from scoreaug_lab.course.records import encode

COURSE = Path(__file__).resolve().parents[1] / "notebooks" / "assignments"
NAME = "a1_denoisers_and_scores"


def _graded(outputs, verdict):
    cell = nbformat.v4.new_code_cell("# Tests for question 1")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 3, "grade_id": "q1_tests"}
    cell.outputs = graded_outputs([NotebookNode(o) for o in outputs], verdict)
    return determine_grade(cell)


STDERR = {"output_type": "stream", "name": "stderr", "text": "FutureWarning: jacfwd ...\n 50%|#####     |"}
RESULT = {"output_type": "execute_result", "data": {"text/plain": "'x'"}, "metadata": {}, "execution_count": 3}
ERROR = {"output_type": "error", "ename": "AssertionError", "evalue": "", "traceback": []}


def test_warnings_progress_bars_and_displayed_values_never_decide_a_grade():
    assert _graded([STDERR], Verdict("q1", True)) == (3, 3)           # stderr would be 0 for nbgrader as is
    assert _graded([RESULT], Verdict("q1", False, "wrong")) == (0, 3)  # a value would be a partial score
    assert _graded([RESULT, STDERR], Verdict("q1", True)) == (3, 3)
    assert _graded([ERROR], Verdict("q1", True)) == (3, 3)             # only the grader's checks decide
    assert _graded([], Verdict("q1", False, "no record")) == (0, 3)
    assert _graded([], Verdict("q1", True, held=["cell 3: import os"])) == (0, 3)


def test_the_failure_reason_reaches_the_student():
    outputs = graded_outputs([NotebookNode(STDERR)], Verdict("q1", False, "hidden test failed: c_out is off"))
    assert outputs[0].name == "stdout" and outputs[-1].ename == "HiddenTestFailed"
    assert "c_out is off" in outputs[-1].evalue


@pytest.mark.parametrize("raw", [
    {"output_type": "stream", "name": "stdin", "text": "x"}, {"output_type": "stream", "name": "stdout", "text": 5},
    {"output_type": "error", "ename": "E", "evalue": "v", "traceback": "not a list"}, {"output_type": "unknown"},
    {"output_type": "display_data", "data": "x", "metadata": {}}, "a string", None,
])
def test_outputs_from_the_sandbox_that_are_not_outputs_are_dropped(raw):
    assert clean_output(raw) is None


def test_outputs_keep_only_their_own_fields():
    out = clean_output({"output_type": "stream", "name": "stdout", "text": ["a", "b"], "evil": 1})
    assert dict(out) == {"output_type": "stream", "name": "stdout", "text": "ab"}


@pytest.fixture(scope="module")
def a1():
    nb = nbformat.read(str(source_notebook(COURSE, NAME)), as_version=4)
    return nb, Grading(COURSE, NAME)


def _key_record(a1, question: str, function: str) -> str:
    """The records line the key's answer writes (its probe run in this process, the twin refused)."""
    nb, grading = a1
    namespace: dict = {}
    exec(nb.cells[1].source, namespace)                                  # the setup cell
    exec(nb.cells[C.solution_cells(nb)[question]].source, namespace)
    with refusing(grading.forbidden[question], question) as guarded:
        data = grading.cases.PROBES[question](guarded(namespace[function]))
    return json.dumps({"question": question, "data": encode(data)})


def test_a_question_passes_only_on_its_own_cells_record(a1):
    nb, grading = a1
    tests = C.test_cells(nb)
    line = _key_record(a1, "q3_ideal_denoiser", "ideal_denoiser")
    own = judge(nb, grading, {tests["q3_ideal_denoiser"]: {"outputs": [], "records": [line]}})
    assert own["q3_ideal_denoiser"].passed and own["q3_ideal_denoiser"].full_marks
    assert not own["q1_preconditioning"].passed and "did not run" in own["q1_preconditioning"].reason
    elsewhere = judge(nb, grading, {tests["q4_tweedie"]: {"outputs": [], "records": [line]},
                                    tests["q3_ideal_denoiser"]: {"outputs": [], "records": []}})
    assert not elsewhere["q3_ideal_denoiser"].passed                    # written in another cell: ignored


def test_the_last_record_of_the_cell_counts_and_garbage_is_refused(a1):
    nb, grading = a1
    index = C.test_cells(nb)["q3_ideal_denoiser"]
    good = _key_record(a1, "q3_ideal_denoiser", "ideal_denoiser")
    forged = json.dumps({"question": "q3_ideal_denoiser", "data": {"anything": 1}})
    assert judge(nb, grading, {index: {"outputs": [], "records": [forged, good]}})["q3_ideal_denoiser"].passed
    assert not judge(nb, grading, {index: {"outputs": [], "records": [good, forged]}})["q3_ideal_denoiser"].passed
    broken = judge(nb, grading, {index: {"outputs": [], "records": ["{not json"]}})["q3_ideal_denoiser"]
    assert not broken.passed and "could not read" in broken.reason


def test_a_wrong_value_fails_with_the_case_named(a1):
    nb, grading = a1
    index = C.test_cells(nb)["q3_ideal_denoiser"]
    cases = grading.cases.q3_inputs()
    data = {name: torch.zeros(y.shape[0], train.shape[1], dtype=torch.float64) for name, y, s, train in cases}
    line = json.dumps({"question": "q3_ideal_denoiser", "data": encode(data)})
    verdict = judge(nb, grading, {index: {"outputs": [], "records": [line]}})["q3_ideal_denoiser"]
    assert not verdict.passed and cases[0][0] in verdict.reason and "off by" in verdict.reason


def test_the_test_cells_error_explains_a_missing_record(a1):
    nb, grading = a1
    index = C.test_cells(nb)["q1_preconditioning"]
    error = NotebookNode(output_type="error", ename="NotImplementedError", evalue="", traceback=[])
    verdict = judge(nb, grading, {index: {"outputs": [error], "records": []}})["q1_preconditioning"]
    assert not verdict.passed and "NotImplementedError" in verdict.reason


def test_grading_needs_no_environment_of_the_student(a1, monkeypatch):
    monkeypatch.delenv("SCOREAUG_GRADING_CASES", raising=False)
    from scoreaug_lab.course.records import record

    with pytest.raises(RuntimeError, match="scoreaug-lab course autograde"):
        record("q3_ideal_denoiser", lambda *a: None)
    assert "SCOREAUG_GRADING_RECORDS" not in os.environ
