"""A class on a real JupyterHub (course/hub.py): 1 instructor and 3 students as real Unix users, everything over the
hub's and the servers' HTTP APIs as JupyterLab does it. The assignment cycle through nbgrader's exchange (release;
students fetch, answer key / wrong / blank, Validate, submit; collect, sandboxed autograde, feedback, fetch
feedback, export) with the expected grades; each student runs walkthrough notebook 00 against the shared store and
nothing is trained; a student cannot read the instructor's source/, find or forge another student's submission, or
delete a shared run; and afterwards no user, process or file is left."""
import csv
from concurrent.futures import ThreadPoolExecutor
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from scoreaug_lab.course import cells as C
from scoreaug_lab.course.catalogues import load_answers
from scoreaug_lab.course.hub import ClassHub, free_port
from scoreaug_lab.course.hub_client import HubAPI
from scoreaug_lab.course.layout import assignment_names, source_notebook

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "notebooks" / "assignments"
FIRST = assignment_names(COURSE)[0]
WALKTHROUGH = "walkthrough/00_quickstart.ipynb"

# in the browser tests' group: the hub's servers and kernels never load the machine while a browser test waits
pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.sandbox, pytest.mark.xdist_group("browser_widgets")]


def hub_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the class hub creates Unix users: it needs root"
    for tool in ("configurable-http-proxy", "runuser", "useradd", "bwrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (npm install -g configurable-http-proxy; apt-get install bubblewrap)"
    return None


@pytest.fixture(scope="module")
def prepared_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("prepared") / "store"
    env = {**os.environ, "SCOREAUG_SIZE": "test"}
    done = subprocess.run([sys.executable, "-m", "scoreaug_lab.cli", "prepare", "00", "--runs", str(store),
                           "--no-progress"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return store


@pytest.fixture(scope="module")
def hub(prepared_store, monkeypatch_module):
    reason = hub_unavailable()
    if reason:
        if os.environ.get("SCOREAUG_REQUIRE_HUB"):
            pytest.fail(f"SCOREAUG_REQUIRE_HUB is set but {reason}")
        pytest.skip(reason)
    monkeypatch_module.setenv("SCOREAUG_SIZE", "test")
    prefix = f"sah{os.getpid() % 100000}"
    hub = ClassHub(students=3, prefix=prefix, port=free_port(), hub_dir=f"/tmp/{prefix}-hub",
                   store_from=prepared_store, course=COURSE, cull_minutes=30, say=lambda *a: None)
    with hub:
        yield hub
    assert not [p for p in pwd.getpwall() if p.pw_name.startswith(f"{prefix}-")], "users left behind"
    assert subprocess.run(["pgrep", "-f", f"{prefix}-hub"], capture_output=True).returncode == 1, "processes left"
    assert not Path(f"/tmp/{prefix}-hub").exists() and not any(Path("/home").glob(f"{prefix}-*")), "files left"


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def as_user(hub, account, code: str, *args) -> str:
    done = hub.run_as(account, [hub.env.python, "-c", code, *args], timeout=120)
    return done.stdout + done.stderr


def instructor(hub, *argv, timeout=900) -> str:
    done = hub.run_as(hub.accounts.instructor, argv, cwd=hub.course, timeout=timeout)
    assert done.returncode == 0, f"{argv}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout + done.stderr


def answered(key, fetched, wrong=None):
    """The fetched notebook with the key's answers (and, for `wrong`, the first wrong answer to every question)."""
    nb = nbformat.from_dict(fetched)
    seen = set()
    for question, index in C.solution_cells(key).items():
        nb.cells[index].source = key.cells[index].source
    for answer in wrong or []:
        if answer.question not in seen:
            seen.add(answer.question)
            index = C.solution_cells(key)[answer.question]
            nb.cells[index].source = answer.apply(key.cells[index].source)
    return nb


def test_a_class_on_the_hub(hub, prepared_store):
    api = HubAPI(hub.url, hub.token)
    teacher, students = hub.accounts.instructor, hub.accounts.students
    servers = {s.name: api.start_server(s.name) for s in students}
    runs_before = {p: p.stat().st_mtime_ns for p in hub.store.glob("*/checkpoint.pt")}
    assert len(runs_before) == 2

    # the instructor: student versions and their release through the exchange
    instructor(hub, hub.env.python, "-m", "scoreaug_lab.cli", "course", "generate", FIRST, "--course", hub.course)
    instructor(hub, hub.env.python, "-m", "nbgrader", "release_assignment", FIRST)
    formgrader = api.start_server(teacher.name).call("GET", "/formgrader/api/assignments")
    assert FIRST in [a["name"] for a in formgrader]           # the instructor's Formgrader tab sees the course
    with pytest.raises(OSError, match="HTTP 404"):             # a student's server has no Formgrader at all
        servers[students[0].name].call("GET", "/formgrader/api/assignments")
    key = nbformat.read(str(source_notebook(hub.course, FIRST)), as_version=4)
    notebook = f"{FIRST}/{source_notebook(hub.course, FIRST).name}"

    # the students: fetch, answer, Validate, submit (through their servers, as the Assignments tab does)
    wrong = load_answers(hub.course, "wrong", FIRST)[:1]            # one question answered wrongly
    plans = {students[0].name: "key", students[1].name: "wrong", students[2].name: "blank"}
    validated = {}
    for name, plan in plans.items():
        server = servers[name]
        assert FIRST in [a["assignment_id"] for a in server.assignments("scoreaug_lab")]
        server.assignment_action("fetch", "scoreaug_lab", FIRST)
        if plan != "blank":
            fetched = server.read_notebook(notebook)
            server.write_notebook(notebook, answered(key, fetched, wrong if plan == "wrong" else None))
        validated[plan] = server.validate(notebook)
        server.assignment_action("submit", "scoreaug_lab", FIRST)
    assert all(v["success"] for v in validated.values()), validated
    assert not validated["key"]["value"].get("failed") and validated["blank"]["value"].get("failed")

    # what a student may not do
    thief = students[1]
    source = source_notebook(hub.course, FIRST)
    assert "PermissionError" in as_user(hub, thief, "open(__import__('sys').argv[1]).read()", source)
    inbound = hub.exchange / "scoreaug_lab" / "inbound"
    assert "PermissionError" in as_user(hub, thief, "import os, sys; print(os.listdir(sys.argv[1]))", inbound)
    assert "PermissionError" in as_user(hub, thief, "import os, sys; print(os.listdir(sys.argv[1]))", students[0].home)
    forged = inbound / f"{students[0].name}+{FIRST}+2099-01-01 00:00:00.000000 UTC+forged"
    as_user(hub, thief, "import os, sys, shutil; shutil.copytree(sys.argv[2], sys.argv[1])", forged,
            thief.home / FIRST)
    assert forged.is_dir() and forged.stat().st_uid == thief.uid
    run = next(hub.store.glob("*/checkpoint.pt")).parent
    attack = "import shutil, sys\ntry:\n    shutil.rmtree(sys.argv[1])\nexcept OSError as e:\n    print('refused', e)"
    assert "refused" in as_user(hub, thief, attack, run) and (run / "checkpoint.pt").is_file()
    assert "refused" in as_user(hub, thief, attack.replace("shutil.rmtree", "open(sys.argv[1] + '/checkpoint.pt', 'w').write"), run)

    # the instructor: collect (the forgery set aside), autograde in the sandbox, feedback, grades
    collected = instructor(hub, hub.env.python, "-m", "nbgrader", "collect", FIRST)
    assert "set aside" in collected and (inbound / f".forged-{forged.name}").exists()
    instructor(hub, hub.env.python, "-m", "scoreaug_lab.cli", "course", "autograde", FIRST, "--course", hub.course)
    instructor(hub, hub.env.python, "-m", "nbgrader", "generate_feedback", FIRST)
    instructor(hub, hub.env.python, "-m", "nbgrader", "release_feedback", FIRST)
    instructor(hub, hub.env.python, "-m", "nbgrader", "export")
    with open(hub.course / "grades.csv") as f:
        scores = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)
                  if row["assignment"] == FIRST}
    auto = sum(p for gid, p in C.points(key).items() if gid.endswith(C.TESTS_SUFFIX))
    assert scores[students[0].name] == auto                    # the key: every autograded point
    assert 0 < scores[students[1].name] < auto                 # one wrong answer: that question's points lost
    assert scores[students[2].name] == 0                       # blank
    for name in plans:
        servers[name].assignment_action("fetch_feedback", "scoreaug_lab", FIRST)
        assert (Path(f"/home/{name}") / FIRST / "feedback").is_dir()

    # the walkthrough for every student against the shared store, nothing trained
    with ThreadPoolExecutor(len(servers)) as pool:                # the class at once, as in a lesson
        reports = dict(zip(servers, pool.map(lambda server: server.run_notebook(WALKTHROUGH), servers.values())))
    for name, report in reports.items():
        assert not report.errors and report.first_figure is not None, (name, report)
    assert {p: p.stat().st_mtime_ns for p in hub.store.glob("*/checkpoint.pt")} == runs_before
