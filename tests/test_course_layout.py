"""layout.py and the course as committed: its folders, its notebooks, its grading files, and what is released."""
import ast
import re
from pathlib import Path

import nbformat
import pytest

from scoreaug_lab.course import cells as C
from scoreaug_lab.course.layout import COURSE_ID, Grading, assignment_names, course_root, source_notebook

COURSE = Path(__file__).resolve().parents[1] / "notebooks" / "assignments"
NAMES = assignment_names(COURSE)


def meta(cell) -> dict:
    return C.nbgrader_meta(cell)


def source(name: str):
    return nbformat.read(str(source_notebook(COURSE, name)), as_version=4)


def test_course_layout():
    assert len(NAMES) >= 4, NAMES
    config = (COURSE / "nbgrader_config.py").read_text()
    assert f'course_id = "{COURSE_ID}"' in config
    assert "scoreaug_lab.course.preprocessors.SandboxedExecute" in config and "HiddenChecks" in config
    assert re.search(r"SandboxedExecute\.cell_timeout = \d+", config), "a cell that hangs must time out"
    ignored = (COURSE / ".gitignore").read_text().split()
    for generated in ("release/", "submitted/", "autograded/", "feedback/", "exchange/", "gradebook.db",
                      ".nbgrader.log"):
        assert generated in ignored, f"{generated} must be git-ignored"
    for name in NAMES:
        files = [p.name for p in (COURSE / "source" / name).iterdir() if not p.name.startswith(".")]
        assert files == [source_notebook(COURSE, name).name], \
            f"source/{name}/ holds only its notebook (everything in it is released)"


def test_a_course_is_named_explicitly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCOREAUG_COURSE", raising=False)
    with pytest.raises(ValueError, match="which course"):
        course_root()
    with pytest.raises(ValueError, match="not a course folder"):
        course_root(tmp_path)
    assert course_root(COURSE) == COURSE.resolve()
    monkeypatch.chdir(COURSE)
    assert course_root() == COURSE.resolve()


def test_the_exchange_is_named_by_the_course_config(tmp_path, monkeypatch):
    """nbgrader, loading the course's nbgrader_config.py as it does from the course folder, finds the exchange in
    that folder, or $SCOREAUG_EXCHANGE; not its default /usr/local/share/nbgrader/exchange."""
    from nbgrader.apps import NbGrader

    from scoreaug_lab.course.commands import exchange_root
    from scoreaug_lab.course.layout import copy_course

    root = copy_course(COURSE, tmp_path / "course")
    monkeypatch.chdir(root)
    for value, expected in ((None, root / "exchange"), (str(tmp_path / "shared"), tmp_path / "shared")):
        if value is None:
            monkeypatch.delenv("SCOREAUG_EXCHANGE", raising=False)
        else:
            monkeypatch.setenv("SCOREAUG_EXCHANGE", value)
        app = NbGrader()
        app.load_config_file()                          # the system's, then this folder's (which wins)
        assert Path(app.config.Exchange.root) == expected
        assert exchange_root(root) == expected          # what `scoreaug-lab course generate` reports
    (root / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "x"\n')
    assert exchange_root(root) is None


@pytest.mark.parametrize("name", NAMES)
def test_source_notebook(name):
    """Opens with objectives, prerequisites, time, points (which add up) and how it is graded; grade ids pair
    answers and tests; every test cell hands its function to the grader; committed without outputs."""
    nb = source(name)
    intro = nb.cells[0]
    assert intro.cell_type == "markdown" and meta(intro).get("locked")
    for heading in ("Learning objectives", "Prerequisites", "Estimated time", "Points", "How it is graded"):
        assert f"**{heading}.**" in intro.source, f"the opening cell states {heading.lower()}"
    assert re.search(r"`0\d_[a-z_]+\.ipynb`", intro.source), "the prerequisites name a walkthrough notebook"
    minutes = int(re.search(r"\*\*Estimated time\.\*\* (\d+) minutes", intro.source).group(1))
    assert 30 <= minutes <= 60
    points = [meta(c)["points"] for c in nb.cells if meta(c).get("grade")]
    assert re.search(rf"\*\*Points\.\*\* {sum(points):g}\b", intro.source), f"the intro states {sum(points)} points"
    ids = [meta(c)["grade_id"] for c in nb.cells if meta(c)]
    assert len(ids) == len(set(ids)), "grade ids are unique"
    assert C.solution_cells(nb).keys() == C.test_cells(nb).keys(), "one test cell <question>_tests per question"
    assert "plain_output()" in nb.cells[1].source, "the setup cell keeps warnings from failing a test"
    for question, index in C.test_cells(nb).items():
        cell = nb.cells[index]
        hidden = cell.source.split(C.HIDDEN_BEGIN)[1].split(C.HIDDEN_END)[0]
        assert f'record("{question}", ' in hidden, f"{question}: its hidden part hands the answer to the grader"
        assert C.strip_hidden(cell.source).strip(), f"{question}: visible tests give feedback"
        assert cell.source.startswith(f"# Tests for question {question[1]}"), "Validate names the question"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{name} has outputs"


@pytest.mark.parametrize("name", NAMES)
def test_every_visible_assert_tells_the_student_what_is_wrong(name):
    nb = source(name)
    for question, index in C.test_cells(nb).items():
        tree = ast.parse(C.strip_hidden(nb.cells[index].source))
        bare = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert) and node.msg is None]
        assert not bare, f"{question}: asserts without a message on lines {bare}"


@pytest.mark.parametrize("name", NAMES)
def test_the_instructions_name_no_oracle(name):
    intro = source(name).cells[0].source + "".join(c.source for c in source(name).cells if c.cell_type == "markdown")
    assert "compare against" not in intro and "compares against" not in intro, "the text names what is checked"


@pytest.mark.parametrize("name", NAMES)
def test_grading_files_cover_every_question_and_name_real_twins(name):
    grading = Grading(COURSE, name)
    questions = set(C.test_cells(source(name)))
    assert set(grading.questions) == questions and set(grading.cases.PROBES) == questions
    assert set(grading.forbidden) <= questions
    from scoreaug_lab.course.guard import _resolve

    for names in grading.forbidden.values():
        for qualified in names:
            _resolve(qualified)                                   # raises when the twin does not exist


def test_the_installed_package_carries_no_course():
    """Nothing under scoreaug_lab/ points at a course folder or holds an answer."""
    package = Path(__file__).resolve().parents[1] / "scoreaug_lab"
    text = "\n".join(p.read_text() for p in package.rglob("*.py"))
    assert '"notebooks" / "assignments"' not in text and "notebooks/assignments" not in text
    assert not list(package.rglob("*.ipynb"))
