"""pyproject.toml and environment.yml name the same dependencies; the Makefile and CI are wired."""
import re
import tomllib
from pathlib import Path

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
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab:", "test:", "demo:"):
        assert target in makefile
