"""pyproject.toml and environment.yml name the same dependencies; the Makefile and CI are wired."""
import re
import sys
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _yml_packages(path: Path) -> tuple[set, list]:
    lines = path.read_text().splitlines()
    pip_items = [ln.strip()[2:] for ln in lines if ln.strip().startswith("- ") and ln.startswith(" " * 6)]
    return {_name(i) for i in pip_items if not i.startswith("-e")}, pip_items


def test_environment_files_match_pyproject():
    """environment.yml (students) names the runtime; environment-dev.yml the runtime and every extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    # the `bench` extra (peers for benchmarks/peers.py) is for benchmarking only, in neither environment file
    extras = {_name(r) for name, group in project["optional-dependencies"].items() if name != "bench" for r in group}
    students, items = _yml_packages(ROOT / "environment.yml")
    assert students == runtime and "-e ." in items, "environment.yml: the runtime and the toolkit itself"
    assert not students & {"pytest", "playwright", "hypothesis", "nbmake", "nbgrader"}, "students get no test tools"
    developers, items = _yml_packages(ROOT / "environment-dev.yml")
    assert developers == runtime | extras and any(i.startswith("-e .[") for i in items)


def test_console_script_and_ci():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["scoreaug-lab"] == "scoreaug_lab.cli:main"
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("target,expected", [("lab", "jupyter lab notebooks/"), ("test", "-m pytest"),
                                             ("demo", "scoreaug-lab demo"), ("class", "scoreaug-lab prepare"),
                                             ("reproduce", "scoreaug-lab reproduce --budget cpu"),
                                             ("assignments", "scoreaug-lab course generate --course notebooks/assignments"),
                                             ("formgrader", "cd notebooks/assignments && ")])
@pytest.mark.process
def test_make_targets_run_what_readme_says(target, expected):
    """`make -n` (a dry run: make resolves the target and prints its commands without running them)."""
    out = subprocess.run(["make", "-n", "-C", str(ROOT), target], capture_output=True, text=True, check=True).stdout
    assert expected in out
    # README names the same two commands for a fresh machine
    assert f"make {target}" in (ROOT / "README.md").read_text()


@pytest.mark.slow
@pytest.mark.process
def test_the_wheel_students_install_carries_no_course(tmp_path):
    """`pip install .` (what a hub's student image runs) installs the package alone: no notebook, no solution,
    no hidden check, no catalogue of answers, and no path to the checkout's course."""
    import shutil
    import zipfile

    project = tmp_path / "project"                      # a copy: building writes build/ beside the sources
    project.mkdir()
    for item in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / item, project / item)
    shutil.copytree(ROOT / "scoreaug_lab", project / "scoreaug_lab", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(project)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("scoreaug_lab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert all(n.startswith(("scoreaug_lab/", "scoreaug_lab-")) for n in names), [n for n in names if "/" not in n][:5]
    assert not [n for n in names if n.endswith(".ipynb") or "assignments" in n or "right_answers" in n
                or "wrong_answers" in n or "/grading/" in n]
    text = b"".join(zipfile.ZipFile(wheel).read(n) for n in names if n.endswith(".py"))
    assert b"notebooks/assignments" not in text and b"BEGIN SOLUTION" not in text
