"""The nbgrader course in notebooks/assignments/: its layout, the real nbgrader cycle, and graders graded.

Fast checks read the source notebooks and the wrong-answer catalogues. The slow ones run nbgrader in a temporary
copy of the course (never in the repository's folder): generate_assignment (the student versions must hold no
solution, hidden test or rubric), autograde of the solution ("key": full marks), of the untouched student version
("blank": zero, every cell failing cleanly) and of a key with one wrong answer per question ("wrong", assignment 1:
zero, the same verdict as the kill matrix), then generate_feedback (HTML) and export (CSV). The kill matrix swaps
every catalogued wrong answer into its question in one kernel per assignment: each must lose the points of its own
question and of no other. Notebooks run at their test size (SCOREAUG_SIZE=test).
"""
from __future__ import annotations

import csv
import re
import time

import nbformat
import pytest

from scoreaug_lab import assignments as A

NAMES = A.assignment_names()
MIN_WRONG_ANSWERS = 5                     # per autograded question
MAX_GRADING_SECONDS = 120                 # per submission
ENV = {"SCOREAUG_SIZE": "test", "MPLBACKEND": "Agg"}
STUDENTS = ("key", "blank")
WRONG_STUDENT, WRONG_ASSIGNMENT = "wrong", NAMES[0]


def read(path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def source(name: str) -> nbformat.NotebookNode:
    return read(A.source_notebook(name))


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def regions(text: str, begin: str, end: str) -> list[str]:
    """The lines strictly between begin and end markers (all regions of a cell)."""
    out, inside = [], False
    for line in text.splitlines():
        if line.strip() == begin:
            inside = True
        elif line.strip() == end:
            inside = False
        elif inside:
            out.append(line.strip())
    return out


def secret_lines(nb) -> set[str]:
    """Lines of solutions, rubrics and hidden tests that appear nowhere else in the source notebook."""
    secret, public = set(), set()
    for cell in nb.cells:
        hidden = set(regions(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
                     + regions(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
        secret |= hidden
        public |= {line.strip() for line in cell.source.splitlines()} - hidden
    return {line for line in secret - public if len(line) >= 12}


def first_wrong_answers(name: str) -> dict:
    """{question: its first catalogued wrong answer}."""
    out = {}
    for wrong in A.load_wrong_answers(name):
        out.setdefault(wrong.question, wrong)
    return out


# --- fast: the course as committed -----------------------------------------------------------------------------
def test_course_layout():
    assert len(NAMES) >= 4, NAMES
    config = (A.COURSE / "nbgrader_config.py").read_text()
    assert f'course_id = "{A.COURSE_ID}"' in config
    assert re.search(r"ExecutePreprocessor\.timeout = \d+", config), "a cell that hangs must time out"
    ignored = (A.COURSE / ".gitignore").read_text().split()
    for generated in ("release/", "submitted/", "autograded/", "feedback/", "gradebook.db", ".nbgrader.log"):
        assert generated in ignored, f"{generated} must be git-ignored"
    for name in NAMES:
        files = [p.name for p in (A.COURSE / "source" / name).iterdir() if not p.name.startswith(".")]
        assert files == [A.source_notebook(name).name], \
            f"source/{name}/ holds only its notebook (everything in it is released)"


@pytest.mark.parametrize("name", NAMES)
def test_source_notebook(name):
    """Opens with objectives, prerequisites, time and points (which add up); grade ids pair solutions and tests;
    committed without outputs; built on the library."""
    nb = source(name)
    intro = nb.cells[0]
    assert intro.cell_type == "markdown" and meta(intro).get("locked")
    for heading in ("Learning objectives", "Prerequisites", "Estimated time", "Points"):
        assert f"**{heading}.**" in intro.source, f"the opening cell states its {heading.lower()}"
    assert re.search(r"`0\d_[a-z_]+\.ipynb`", intro.source), "the prerequisites name a walkthrough notebook"
    minutes = int(re.search(r"\*\*Estimated time\.\*\* (\d+) minutes", intro.source).group(1))
    assert 30 <= minutes <= 60
    points = [meta(c)["points"] for c in nb.cells if meta(c).get("grade")]
    assert re.search(rf"\*\*Points\.\*\* {sum(points):g}\b", intro.source), f"the intro states {sum(points)} points"
    ids = [meta(c)["grade_id"] for c in nb.cells if meta(c)]
    assert len(ids) == len(set(ids)), "grade ids are unique"
    assert A.solution_cells(nb).keys() == A.test_cells(nb).keys(), "one test cell <question>_tests per question"
    for question, index in A.test_cells(nb).items():
        cell = nb.cells[index]
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{question}: hidden tests decide the grade"
        assert A.strip_hidden(cell.source).strip(), f"{question}: visible tests give feedback"
        assert cell.source.startswith(f"# Tests for question {question[1]}"), "Validate names the question"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{name} has outputs"
    assert "scoreaug_lab" in nb.cells[1].source


@pytest.mark.parametrize("name", NAMES)
def test_wrong_answer_catalogue(name):
    """At least five wrong answers per autograded question, each editing text that is in its solution cell."""
    nb = source(name)
    wrongs = A.load_wrong_answers(name)
    for question in A.solution_cells(nb):
        count = sum(w.question == question for w in wrongs)
        assert count >= MIN_WRONG_ANSWERS, f"{question}: {count} wrong answers, want >= {MIN_WRONG_ANSWERS}"
    for wrong in wrongs:
        injected = A.inject(nb, wrong)                      # raises unless every old text occurs once
        index = A.solution_cells(nb)[wrong.question]
        assert injected.cells[index].source != nb.cells[index].source
    assert len({(w.question, w.name) for w in wrongs}) == len(wrongs), "names are unique per question"


# --- slow: nbgrader in a temporary course --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A temporary course, generated, submitted (key, blank; wrong for assignment 1), autograded, fed back, exported."""
    pytest.importorskip("nbgrader", reason="nbgrader is the instructor extra: pip install -e '.[instructor]'")
    root = A.copy_course(tmp_path_factory.mktemp("course"))
    A.generate(root)
    for name in NAMES:
        notebook = A.source_notebook(name, root)
        A.submit(root, name, "key", notebook)
        A.submit(root, name, "blank", root / "release" / name / notebook.name)
    wrong = read(A.source_notebook(WRONG_ASSIGNMENT, root))
    for answer in first_wrong_answers(WRONG_ASSIGNMENT).values():
        wrong = A.inject(wrong, answer)
    A.submit(root, WRONG_ASSIGNMENT, WRONG_STUDENT, wrong)
    seconds = {}
    for name in NAMES:
        start = time.perf_counter()
        A.nbgrader(["autograde", name, "--force"], root, env=ENV)
        seconds[name] = time.perf_counter() - start
    A.nbgrader(["generate_feedback", "*", "--force"], root, env=ENV)
    A.nbgrader(["export"], root, env=ENV)
    for name, s in seconds.items():
        print(f"autograde {name}: {s:.1f} s for {len(list((root / 'submitted').glob(f'*/{name}')))} submissions")
    return root, seconds


def autograded_cells(root, name, student) -> dict:
    scores = A.grades(root, name, student)
    return {gid: g for gid, g in scores.items() if gid.endswith(A.TESTS_SUFFIX)}


@pytest.mark.slow
@pytest.mark.xdist_group("assignments_course")
@pytest.mark.parametrize("name", NAMES)
def test_student_version_reveals_nothing(course, name):
    root, _ = course
    released = root / "release" / name
    assert sorted(p.name for p in released.iterdir()) == [A.source_notebook(name).name], "only the notebook is released"
    student = read(released / A.source_notebook(name).name)
    text = "\n".join(cell.source for cell in student.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "Rubric"):
        assert marker not in text, f"the student version shows {marker!r}"
    lines = {line.strip() for line in text.splitlines()}
    leaked = secret_lines(source(name)) & lines
    assert not leaked, f"solution, rubric or hidden-test lines in the student version: {sorted(leaked)[:5]}"
    for question, index in A.solution_cells(student).items():
        assert "raise NotImplementedError()" in student.cells[index].source, question
    for cell in student.cells:
        if meta(cell).get("grade") and meta(cell).get("solution") and cell.cell_type == "markdown":
            assert cell.source.strip() == "YOUR ANSWER HERE"


@pytest.mark.slow
@pytest.mark.xdist_group("assignments_course")
@pytest.mark.parametrize("name", NAMES)
def test_key_gets_full_marks(course, name):
    root, _ = course
    cells = autograded_cells(root, name, "key")
    assert cells and all(g["score"] == g["max_score"] for g in cells.values()), cells
    manual = {gid: g for gid, g in A.grades(root, name, "key").items() if not gid.endswith(A.TESTS_SUFFIX)}
    assert all(g["needs_manual_grade"] for g in manual.values()), "the written answers wait for a grader"


@pytest.mark.slow
@pytest.mark.xdist_group("assignments_course")
@pytest.mark.parametrize("name", NAMES)
def test_untouched_student_version_gets_zero_cleanly(course, name):
    """Zero autograded points, and every test cell fails with an error of the student's code, not a timeout or a
    dead kernel."""
    root, seconds = course
    cells = autograded_cells(root, name, "blank")
    assert cells and all(g["score"] == 0 for g in cells.values()), cells
    graded = read(root / "autograded" / "blank" / name / A.source_notebook(name).name)
    for question, index in A.test_cells(graded).items():
        errors = [o for o in graded.cells[index].outputs if o.output_type == "error"]
        assert errors and errors[0].ename in ("NotImplementedError", "NameError"), (question, errors[:1])
    per_submission = seconds[name] / len(list((root / "submitted").glob(f"*/{name}")))
    assert per_submission <= MAX_GRADING_SECONDS, f"{name}: {per_submission:.0f} s per submission"


@pytest.mark.slow
@pytest.mark.xdist_group("assignments_course")
def test_nbgrader_agrees_with_the_kill_matrix(course):
    """One wrong answer per question, graded by nbgrader itself: every autograded question loses its points."""
    root, _ = course
    cells = autograded_cells(root, WRONG_ASSIGNMENT, WRONG_STUDENT)
    wrong = first_wrong_answers(WRONG_ASSIGNMENT)
    assert {gid[: -len(A.TESTS_SUFFIX)] for gid in cells} == set(wrong)
    assert all(g["score"] == 0 for g in cells.values()), cells


@pytest.mark.slow
@pytest.mark.xdist_group("assignments_course")
def test_grades_export_to_csv(course):
    root, _ = course
    with open(root / "grades.csv", newline="") as f:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(f)}
    for name in NAMES:
        nb = source(name)
        auto = sum(meta(nb.cells[i])["points"] for i in A.test_cells(nb).values())
        total = sum(meta(c)["points"] for c in nb.cells if meta(c).get("grade"))
        assert float(rows[name, "key"]["score"]) == auto and float(rows[name, "key"]["max_score"]) == total
        assert float(rows[name, "blank"]["score"]) == 0
    assert float(rows[WRONG_ASSIGNMENT, WRONG_STUDENT]["score"]) == 0


@pytest.mark.slow
@pytest.mark.xdist_group("assignments_course")
@pytest.mark.parametrize("student", STUDENTS)
def test_feedback_html(course, student):
    root, _ = course
    for name in NAMES:
        html = (root / "feedback" / student / name / f"{A.source_notebook(name).stem}.html").read_text()
        nb = source(name)
        auto = sum(meta(nb.cells[i])["points"] for i in A.test_cells(nb).values())
        total = sum(meta(c)["points"] for c in nb.cells if meta(c).get("grade"))
        score = auto if student == "key" else 0
        assert re.search(rf"Score: {score:.1f} / {total:.1f}", html), f"{name}: feedback for {student}"


# --- slow: the graders graded ----------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_wrong_answer_loses_points_on_its_own_question(name):
    report = A.kill_matrix(name, env=ENV)
    print("\n".join(report.lines()))
    assert not report.key_failures, f"the solution fails {report.key_failures}"
    missed = [f"{r.wrong.question}: {r.wrong.name} -> fails {r.failed}" for r in report.results if not r.caught]
    assert not missed, "wrong answers not caught on their own question alone:\n" + "\n".join(missed)
    assert report.kill_rate == 1.0
