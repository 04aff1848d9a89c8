"""commands.py and `scoreaug-lab course`: the real nbgrader cycle, sandboxed, in a temporary copy of the course.

generate_assignment (the student versions hold no answer, no hidden part, no grading file), then autograde of the
key (full marks), the untouched student version (0, each test cell failing with the reason) and, for assignment 1,
one wrong answer per question (each question 0), generate_feedback (no hidden part) and export (CSV). Also:
Validate (`nbgrader validate`) passes a right answer that warns and prints to stderr; autograding refuses in one
line where bwrap is missing unless --unsandboxed, which grades the same. The instructor's steps as the course's README
gives them: the whole cycle through the exchange its nbgrader_config.py names (release, a student's fetch and
submit, collect, autograde, feedback released and fetched), and the Formgrader of a JupyterLab started in the
course folder (`make formgrader`) against one started in the project root (`make lab`).
"""
import csv
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from scoreaug_lab.course import cells as C
from scoreaug_lab.course import commands as K
from scoreaug_lab.course.catalogues import load_answers
from scoreaug_lab.course.layout import assignment_names, copy_course, source_notebook

COURSE = Path(__file__).resolve().parents[1] / "notebooks" / "assignments"
NAMES = assignment_names(COURSE)
ENV = {"SCOREAUG_SIZE": "test", "MPLBACKEND": "Agg"}
WRONG, FIRST = "wrong", NAMES[0]
MAX_GRADING_SECONDS = 60                  # per submission, sandboxed, at test size

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.xdist_group("course_commands")]


def read(path):
    return nbformat.read(str(path), as_version=4)


def regions(text: str) -> list[str]:
    out, inside = [], False
    for line in text.splitlines():
        if line.strip() in ("### BEGIN SOLUTION", C.HIDDEN_BEGIN):
            inside = True
        elif line.strip() in ("### END SOLUTION", C.HIDDEN_END):
            inside = False
        elif inside:
            out.append(line.strip())
    return out


def secret_lines(nb) -> set[str]:
    """Lines of solutions, rubrics and hidden parts that appear nowhere else in the source notebook."""
    secret, public = set(), set()
    for cell in nb.cells:
        hidden = set(regions(cell.source))
        secret |= hidden
        public |= {line.strip() for line in cell.source.splitlines()} - hidden
    return {line for line in secret - public if len(line) >= 12}


def with_first_wrong_answers(root, name: str):
    nb = read(source_notebook(root, name))
    seen = set()
    for answer in load_answers(root, "wrong", name):
        if answer.question not in seen:
            seen.add(answer.question)
            index = C.solution_cells(nb)[answer.question]
            nb.cells[index].source = answer.apply(nb.cells[index].source)
    return nb


@pytest.fixture(scope="module")
def course(sandbox, tmp_path_factory):
    root = copy_course(COURSE, tmp_path_factory.mktemp("course") / "course")
    K.generate(root)
    for name in NAMES:
        notebook = source_notebook(root, name)
        K.submit(root, name, "key", notebook)
        K.submit(root, name, "blank", root / "release" / name / notebook.name)
    K.submit(root, FIRST, WRONG, with_first_wrong_answers(root, FIRST))
    seconds = {}
    for name in NAMES:
        start = time.perf_counter()
        K.autograde(root, name, env=ENV)
        seconds[name] = (time.perf_counter() - start) / len(list((root / "submitted").glob(f"*/{name}")))
        print(f"autograde {name}: {seconds[name]:.1f} s per submission")
    K.nbgrader(["generate_feedback", "*", "--force"], root, env=ENV)
    K.nbgrader(["export"], root, env=ENV)
    return root, seconds


def autograded(root, name, student) -> dict:
    return {gid: g for gid, g in K.grades(root, name, student).items() if gid.endswith(C.TESTS_SUFFIX)}


@pytest.mark.parametrize("name", NAMES)
def test_student_version_reveals_nothing(course, name):
    root, _ = course
    released = root / "release" / name
    assert sorted(p.name for p in released.iterdir()) == [source_notebook(root, name).name], "only the notebook"
    text = "\n".join(cell.source for cell in read(released / source_notebook(root, name).name).cells)
    for marker in ("BEGIN SOLUTION", "HIDDEN TESTS", "Rubric", "record(", "scoreaug_lab.course.records"):
        assert marker not in text, f"the student version shows {marker!r}"
    leaked = secret_lines(read(source_notebook(root, name))) & {line.strip() for line in text.splitlines()}
    assert not leaked, f"solution, rubric or hidden lines in the student version: {sorted(leaked)[:5]}"


@pytest.mark.parametrize("name", NAMES)
def test_key_gets_full_marks_in_the_sandbox(course, name):
    root, seconds = course
    cells = autograded(root, name, "key")
    assert cells and all(g["score"] == g["max_score"] for g in cells.values()), cells
    manual = {gid: g for gid, g in K.grades(root, name, "key").items() if not gid.endswith(C.TESTS_SUFFIX)}
    assert all(g["needs_manual_grade"] for g in manual.values()), "the written answers wait for a grader"
    graded = read(root / "autograded" / "key" / name / source_notebook(root, name).name)
    assert graded.metadata["scoreaug_grading"]["sandboxed"] is True
    assert seconds[name] <= MAX_GRADING_SECONDS, f"{name}: {seconds[name]:.0f} s per submission"


@pytest.mark.parametrize("name", NAMES)
def test_untouched_student_version_gets_zero_with_the_reason(course, name):
    root, _ = course
    assert all(g["score"] == 0 for g in autograded(root, name, "blank").values())
    graded = read(root / "autograded" / "blank" / name / source_notebook(root, name).name)
    for question, index in C.test_cells(graded).items():
        errors = [o for o in graded.cells[index].outputs if o.output_type == "error"]
        assert errors and errors[-1].ename == "HiddenTestFailed", question
        assert "NotImplementedError" in errors[-1].evalue or "NameError" in errors[-1].evalue, errors[-1].evalue


def test_one_wrong_answer_per_question_loses_every_question(course):
    root, _ = course
    cells = autograded(root, FIRST, WRONG)
    assert len(cells) == len(C.test_cells(read(source_notebook(root, FIRST))))
    assert all(g["score"] == 0 for g in cells.values()), cells


def test_grades_export_to_csv(course):
    root, _ = course
    with open(root / "grades.csv", newline="") as f:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(f)}
    for name in NAMES:
        points = C.points(read(source_notebook(root, name)))
        auto = sum(p for gid, p in points.items() if gid.endswith(C.TESTS_SUFFIX))
        assert float(rows[name, "key"]["score"]) == auto and float(rows[name, "key"]["max_score"]) == sum(points.values())
        assert float(rows[name, "blank"]["score"]) == 0
    assert float(rows[FIRST, WRONG]["score"]) == 0


@pytest.mark.parametrize("student", ["key", "blank"])
def test_feedback_has_the_score_and_no_hidden_part(course, student):
    root, _ = course
    for name in NAMES:
        html = (root / "feedback" / student / name / f"{source_notebook(root, name).stem}.html").read_text()
        points = C.points(read(source_notebook(root, name)))
        auto = sum(p for gid, p in points.items() if gid.endswith(C.TESTS_SUFFIX))
        score = auto if student == "key" else 0
        assert re.search(rf"Score: {score:.1f} / {sum(points.values()):.1f}", html), f"{name}: feedback for {student}"
        assert "HIDDEN TESTS" not in html and "scoreaug_lab.course.records" not in html


def test_validate_passes_a_right_answer_that_warns_and_prints_to_stderr(course):
    """nbgrader's Validate counts stderr in a test cell as a failure; the notebooks' setup cell prints it plainly."""
    root, _ = course
    name = "a3_scores_through_maps"
    nb = read(source_notebook(root, name))
    for answer in load_answers(root, "right", name):
        if "FutureWarning" in answer.name:
            index = C.solution_cells(nb)[answer.question]
            nb.cells[index].source = answer.apply(nb.cells[index].source)
    student = read(root / "release" / name / source_notebook(root, name).name)
    for question, index in C.solution_cells(nb).items():
        student.cells[index].source = nb.cells[index].source
    path = root / "validate_me.ipynb"
    nbformat.write(student, str(path))
    output = K.nbgrader(["validate", str(path)], root, env=ENV)
    assert "Success! Your notebook passes all the tests." in output, output[-2000:]


def test_autograde_refuses_without_bwrap_unless_asked(course, tmp_path):
    root, _ = course
    env = {**K.tool_env(), "PATH": f"{Path(sys.executable).parent}:/nonexistent"}
    refused = subprocess.run([sys.executable, "-m", "scoreaug_lab.cli", "course", "autograde", FIRST, "--course",
                              str(root)], env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "bubblewrap" in refused.stderr and "--unsandboxed" in refused.stderr


def test_unsandboxed_grading_gives_the_same_grades(course):
    root, _ = course
    done = subprocess.run([sys.executable, "-m", "scoreaug_lab.cli", "course", "autograde", FIRST, "--student", "key",
                           "--course", str(root), "--unsandboxed"], env={**K.tool_env(), **ENV}, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    graded = read(root / "autograded" / "key" / FIRST / source_notebook(root, FIRST).name)
    assert graded.metadata["scoreaug_grading"]["sandboxed"] is False
    assert all(g["score"] == g["max_score"] for g in autograded(root, FIRST, "key").values())


def test_the_whole_cycle_through_the_course_exchange(sandbox, tmp_path):
    """The course folder's README, on one machine, step by step: generate, release_assignment (into the exchange the
    course's nbgrader_config.py names: exchange/ in the course folder, never a system folder), a student (in a
    folder of their own) fetches, answers, submits; collect, autograde (sandboxed), generate_feedback,
    release_feedback; the student fetches the feedback with full marks."""
    import getpass

    root = copy_course(COURSE, tmp_path / "course")
    student = tmp_path / "student"
    student.mkdir()
    env = {**ENV, "JUPYTER_DATA_DIR": str(tmp_path / "data")}       # the students' nbgrader cache, not ~/
    exchange = root / "exchange"
    as_student = ["--course", "scoreaug_lab", f"--Exchange.root={exchange}"]

    def student_nbgrader(*args):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args, *as_student], cwd=student,
                              env=K.tool_env(env), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    K.generate(root, [FIRST])
    K.nbgrader(["release_assignment", FIRST], root, env=env)
    notebook = source_notebook(root, FIRST).name
    assert (exchange / "scoreaug_lab" / "outbound" / FIRST / notebook).is_file()
    student_nbgrader("fetch_assignment", FIRST)
    fetched = student / FIRST / notebook
    answered, key = read(fetched), read(source_notebook(root, FIRST))
    for index in C.solution_cells(key).values():
        answered.cells[index].source = key.cells[index].source
    nbformat.write(answered, str(fetched))
    student_nbgrader("submit", FIRST)
    K.nbgrader(["collect", FIRST], root, env=env)
    me = getpass.getuser()
    assert (root / "submitted" / me / FIRST / notebook).is_file()
    K.autograde(root, FIRST, env=env)
    assert all(g["score"] == g["max_score"] for g in autograded(root, FIRST, me).values())
    K.nbgrader(["generate_feedback", FIRST], root, env=env)
    K.nbgrader(["release_feedback", FIRST], root, env=env)
    student_nbgrader("fetch_feedback", FIRST)
    (html,) = (student / FIRST / "feedback").glob(f"*/{Path(notebook).stem}.html")
    points = C.points(key)
    auto = sum(p for gid, p in points.items() if gid.endswith(C.TESTS_SUFFIX))
    assert re.search(rf"Score: {auto:.1f} / {sum(points.values()):.1f}", html.read_text())


@pytest.mark.parametrize("started_in", ["course", "project"])
def test_the_formgrader_sees_the_course_where_jupyterlab_starts_in_it(tmp_path, started_in):
    """`make formgrader` starts JupyterLab in the course folder: its Formgrader lists the assignments. `make lab`
    starts it in the project root (on notebooks/), where nbgrader finds no course config: the list is empty."""
    import json
    import os
    import urllib.error
    import urllib.request

    from test_browser import LabServer, free_port, stop_server, wait_until_answering

    project = tmp_path / "project"
    root = copy_course(COURSE, project / "notebooks" / "assignments")
    cwd, notebook_dir = (root, root) if started_in == "course" else (project, project / "notebooks")
    port = free_port()
    env = {**K.tool_env(), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--IdentityProvider.token=",
               "--ServerApp.password=", "--ServerApp.ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
               f"--notebook-dir={notebook_dir}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    log = tmp_path / "jupyterlab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_answering(server)
        try:
            with urllib.request.urlopen(f"{server.url}/formgrader/api/assignments", timeout=30) as reply:
                listed = sorted(a["name"] for a in json.loads(reply.read()))
        except urllib.error.HTTPError as error:
            listed = f"HTTP {error.code}"
    finally:
        stop_server(server)
    assert server.process.poll() is not None, "JupyterLab is still running"
    if started_in == "course":
        assert listed == NAMES, listed
    else:       # the course root defaults to the current folder, above the notebook root: nbgrader's "bad setup"
        assert listed in ([], "HTTP 500"), listed


def test_autograde_without_submissions_says_where_they_come_from(tmp_path):
    root = copy_course(COURSE, tmp_path / "course")
    done = subprocess.run([sys.executable, "-m", "scoreaug_lab.cli", "course", "autograde", FIRST, "--course",
                           str(root), "--unsandboxed"], env=K.tool_env(), capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"nbgrader collect {FIRST}" in done.stderr and "submitted/<student>/" in done.stderr
