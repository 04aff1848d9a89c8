"""cheats.py, grading attacked: every cheating submission of the catalogue (the library's own answer, patched
comparisons and oracles, liar objects, IPython's hooks and transformers, the course's files and gradebook,
detached processes, memory, os._exit, a hang, a deleted test cell) is autograded by nbgrader with the course's
configuration, each in its own sandbox, beside two honest students, one graded before and one after them.

Each cheat must earn 0 on the questions it cheats on; the honest students keep full marks and their files; the
course's sources are unchanged; the gradebook holds exactly what the grader computed; feedback shows no hidden
part; no process of a submission outlives the grading.
"""
import os
import re
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from scoreaug_lab.course import cells as C
from scoreaug_lab.course import commands as K
from scoreaug_lab.course.cheats import file_digests, load_cheats, submission
from scoreaug_lab.course.layout import copy_course, source_notebook
from scoreaug_lab.course.sandbox import NOBODY

COURSE = Path(__file__).resolve().parents[1] / "notebooks" / "assignments"
NAME = "a1_denoisers_and_scores"
HONEST = ("aa-honest", "zz-honest")        # graded before and after every cheat (nbgrader goes by name)
ENV = {"SCOREAUG_SIZE": "test", "MPLBACKEND": "Agg"}

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.xdist_group("cheats")]   # one fixture run


@pytest.fixture(scope="module")
def graded(sandbox, tmp_path_factory):
    root = copy_course(COURSE, tmp_path_factory.mktemp("cheats") / "course")
    with open(root / "nbgrader_config.py", "a") as f:
        f.write("\nc.SandboxedExecute.cell_timeout = 15     # the hang: 15 s, not 2 minutes\n")
    K.generate(root, [NAME])
    key = source_notebook(root, NAME)
    for student in HONEST:
        K.submit(root, NAME, student, key)
    cheats = load_cheats(root, NAME)
    for cheat in cheats:
        K.submit(root, NAME, cheat.student, submission(root, NAME, cheat, victim=HONEST[1]))
    before = {"source": file_digests(root / "source"), "honest": {s: file_digests(root / "submitted" / s)
                                                                 for s in HONEST}}
    start = time.perf_counter()
    K.autograde(root, NAME, env=ENV)
    print(f"autograded {len(cheats) + len(HONEST)} submissions in {time.perf_counter() - start:.0f} s")
    time.sleep(10)                                           # longer than the detached process waits to strike
    return root, cheats, before


def test_there_are_enough_cheats_of_every_kind(graded):
    _, cheats, _ = graded
    assert len(cheats) >= 20
    text = " ".join(c.name for c in cheats).lower()
    for kind in ("twin", "allclose", "oracle", "subclass", "ast transformer", "input transformer",
                 "exception handler", "displayhook", "source/", "submission", "gradebook", "detached", "memory",
                 "os._exit", "hang"):
        assert kind in text, f"no cheat of the kind {kind!r}"


def test_every_cheat_earns_nothing_on_the_questions_it_cheats_on(graded):
    root, cheats, _ = graded
    gained = []
    for cheat in cheats:
        scores = K.grades(root, NAME, cheat.student)
        for question in cheat.questions:
            if scores[question + C.TESTS_SUFFIX]["score"] != 0:
                gained.append(f"{cheat.name}: {question} {scores[question + C.TESTS_SUFFIX]['score']}")
    assert not gained, "\n".join(gained)


def test_honest_students_keep_their_marks_and_their_files(graded):
    root, _, before = graded
    nb = nbformat.read(str(source_notebook(root, NAME)), as_version=4)
    for student in HONEST:
        scores = K.grades(root, NAME, student)
        assert all(scores[q + C.TESTS_SUFFIX]["score"] == C.points(nb)[q + C.TESTS_SUFFIX]
                   for q in C.test_cells(nb)), (student, scores)
        assert file_digests(root / "submitted" / student) == before["honest"][student]
    assert file_digests(root / "source") == before["source"]


def test_the_gradebook_holds_what_the_grader_computed(graded):
    root, cheats, _ = graded
    for student in HONEST + tuple(c.student for c in cheats):
        path = root / "autograded" / student / NAME / source_notebook(root, NAME).name
        verdicts = nbformat.read(str(path), as_version=4).metadata["scoreaug_grading"]
        assert verdicts["sandboxed"] is True
        scores = K.grades(root, NAME, student)
        for question, verdict in verdicts["questions"].items():
            grade = scores[question + C.TESTS_SUFFIX]
            full = verdict["passed"] and not verdict["held"]
            assert grade["score"] == (grade["max_score"] if full else 0), (student, question, grade, verdict)
            assert grade["needs_manual_grade"] == bool(verdict["held"]), (student, question)


def test_held_questions_wait_for_a_person_with_the_reason(graded):
    root, cheats, _ = graded
    cheat = next(c for c in cheats if "AST transformer" in c.name)
    assert K.grades(root, NAME, cheat.student)["q1_preconditioning_tests"]["needs_manual_grade"]
    comment = K.comments(root, NAME, cheat.student)["q1_preconditioning"]
    assert "Held for review" in comment and "import ast" in comment


def test_no_process_of_a_submission_is_left(graded):
    if os.geteuid() != 0:
        pytest.skip("as a user the sandbox keeps the user's own uid: its processes cannot be told from the user's")
    left = subprocess.run(["ps", "-u", str(NOBODY), "-o", "pid=,args="], capture_output=True, text=True).stdout
    assert left.strip() == ""


def test_feedback_shows_scores_and_reasons_but_no_hidden_part(graded):
    root, cheats, _ = graded
    K.nbgrader(["generate_feedback", NAME, "--force"], root, env=ENV)
    for student in (HONEST[0], cheats[0].student):
        html = (root / "feedback" / student / NAME / f"{source_notebook(root, NAME).stem}.html").read_text()
        assert "HIDDEN TESTS" not in html and "scoreaug_lab.course.records" not in html
    html = (root / "feedback" / cheats[0].student / NAME / f"{source_notebook(root, NAME).stem}.html").read_text()
    assert re.search(r"Score: 7\.0 / 10\.0", html) and "HiddenTestFailed" in html and "refused" in html
