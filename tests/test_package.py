"""The package's shape: every module imports on its own (no import cycle, nothing that works only in a lucky
order), and only the core a newcomer reads first sits at the top level."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scoreaug_lab"
CORE = {"denoiser", "diffusion", "optima", "oracles", "paths", "plotting", "presets", "sampling", "scores",
        "validation"}


def modules() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] != "__main__":                       # an entry point runs when imported
            out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def test_only_the_core_sits_at_the_top_level():
    top = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert top == CORE, f"move into a subpackage: {sorted(top - CORE)}; missing: {sorted(CORE - top)}"


@pytest.mark.process
def test_every_module_imports_alone():
    """One interpreter; before each import every scoreaug_lab module is forgotten, so each is imported as in a
    fresh interpreter (the libraries it needs stay loaded: only our own import order is tested)."""
    script = textwrap.dedent(f"""
        import importlib, sys, traceback
        failed = []
        for name in {modules()!r}:
            for loaded in [m for m in sys.modules if m == "scoreaug_lab" or m.startswith("scoreaug_lab.")]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except Exception:
                failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
        print("\\n".join(failed))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PACKAGE.parent,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "", "modules that do not import alone:\n" + done.stdout


# test files that test a surface of the toolkit rather than one module: the notebooks, the browser, the packaging,
# and the bad-input attacks that cross every layer (README's guarantees table names them)
SURFACES = {"browser", "browser_assignments", "notebooks", "solutions", "package", "packaging", "reliability_api",
            "reliability_cli", "reliability_runs"}


def module_named(stem: str) -> str | None:
    """The module a test file test_<stem>.py is named after: <stem> at the top (a module or a subpackage's
    __init__), or <subpackage>_<module> below; None when no module has that name."""
    if (PACKAGE / f"{stem}.py").is_file() or (PACKAGE / stem / "__init__.py").is_file():
        return stem
    for package in (p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()):
        rest = stem.removeprefix(package.name + "_")
        if rest != stem and (package / f"{rest}.py").is_file():
            return f"{package.name}.{rest}"
    return None


def test_every_test_file_is_named_after_the_module_it_tests():
    tests = Path(__file__).resolve().parent
    stems = [p.stem.removeprefix("test_") for p in tests.glob("test_*.py")]
    unnamed = [s for s in stems if s not in SURFACES and module_named(s) is None]
    assert not unnamed, f"test files named after no module: {unnamed}"
