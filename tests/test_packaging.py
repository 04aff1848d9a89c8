"""pyproject.toml and environment.yml name the same dependencies; the Makefile and CI are wired."""
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]} | {_name(r) for r in project["optional-dependencies"]["dev"]}
    lines = (ROOT / "environment.yml").read_text().splitlines()
    pip_items = [ln.strip()[2:] for ln in lines if ln.strip().startswith("- ") and ln.startswith(" " * 6)]
    named = {_name(i) for i in pip_items if not i.startswith("-e")}
    assert named == wanted
    assert any(i.startswith("-e .") for i in pip_items), "environment.yml must install the toolkit itself"


def test_console_script_and_ci():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["scoreaug-lab"] == "scoreaug_lab.cli:main"
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("target,expected", [("lab", "jupyter lab notebooks/"), ("test", "-m pytest"),
                                             ("demo", "scoreaug-lab demo")])
def test_make_targets_run_what_readme_says(target, expected):
    """`make -n` (a dry run: make resolves the target and prints its commands without running them)."""
    out = subprocess.run(["make", "-n", "-C", str(ROOT), target], capture_output=True, text=True, check=True).stdout
    assert expected in out
    # README names the same two commands for a fresh machine
    assert f"make {target}" in (ROOT / "README.md").read_text()
