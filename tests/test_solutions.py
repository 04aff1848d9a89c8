"""The worked answers next to the walkthrough notebooks (notebooks/solutions/): one file per notebook, one entry
with an estimated time for every exercise of the notebook's Exercises cell, and code blocks that run.

A solutions file is Markdown: it opens by naming its notebook, has a section `## Exercise N · title` per exercise
with a line `*Estimated time: ≈ M min*`, and ```python blocks that run top to bottom in one fresh interpreter from
notebooks/ (a block containing `# not run` is shown, not run). The blocks run at SCOREAUG_SIZE=test with their own
run store, so they train tiny models; files that train U-Nets or call the command line are marked slow.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
WALKTHROUGH = sorted(NOTEBOOKS.glob("0*.ipynb"))
# the blocks of these files train U-Nets or run the command line: about a minute or more of CPU at test size
SLOW = {"04_overfitting_with_little_data", "05_scoreaug_vs_clean_space", "06_cifar10_scale"}

EXERCISES_HEADING = re.compile(r"^#+\s*Exercises\s*$", re.M)
NUMBERED_ITEM = re.compile(r"^(\d+)\.\s", re.M)
SECTION = re.compile(r"^## Exercise (\d+)\b.*$", re.M)
ESTIMATE = re.compile(r"Estimated time: ≈ \d+ min")
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def exercise_numbers(notebook: Path) -> list[int]:
    """The numbered items after the `## Exercises` heading(s) of a notebook's markdown cells."""
    numbers = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        heading = EXERCISES_HEADING.search(cell.source)
        if heading:
            numbers += [int(n) for n in NUMBERED_ITEM.findall(cell.source[heading.end():])]
    return numbers


def solution_file(notebook: Path) -> Path:
    for suffix in (".md", ".ipynb"):
        path = SOLUTIONS / (notebook.stem + suffix)
        if path.is_file():
            return path
    raise AssertionError(f"no solutions file for {notebook.name}: expected solutions/{notebook.stem}.md")


def solution_text(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = nbformat.read(path, as_version=4).cells
        return "\n\n".join(c.source if c.cell_type == "markdown" else f"```python\n{c.source}\n```" for c in cells)
    return path.read_text(encoding="utf-8")


def sections(text: str) -> dict[int, str]:
    """{exercise number: the text of its section}."""
    found = list(SECTION.finditer(text))
    return {int(m.group(1)): text[m.start():found[i + 1].start() if i + 1 < len(found) else len(text)]
            for i, m in enumerate(found)}


def test_the_walkthrough_is_found():
    assert len(WALKTHROUGH) >= 8, [p.name for p in WALKTHROUGH]


@pytest.mark.parametrize("notebook", WALKTHROUGH, ids=lambda p: p.stem)
def test_every_exercise_has_a_worked_answer_with_an_estimated_time(notebook):
    numbers = exercise_numbers(notebook)
    assert numbers, f"{notebook.name}: no numbered exercises after an 'Exercises' heading"
    assert numbers == list(range(1, len(numbers) + 1)), f"{notebook.name}: exercises numbered {numbers}"
    text = solution_text(solution_file(notebook))
    opening = text[:600]
    assert notebook.name in opening, f"the solutions file of {notebook.name} must say which notebook it belongs to"
    entries = sections(text)
    missing = [n for n in numbers if n not in entries]
    assert not missing, f"{notebook.name}: no '## Exercise N' entry for exercise(s) {missing}"
    extra = sorted(set(entries) - set(numbers))
    assert not extra, f"{notebook.name}: the solutions answer exercises {extra}, which the notebook does not have"
    untimed = [n for n in numbers if not ESTIMATE.search(entries[n])]
    assert not untimed, f"{notebook.name}: exercise(s) {untimed} without 'Estimated time: ≈ N min'"


@pytest.mark.parametrize("notebook", WALKTHROUGH, ids=lambda p: p.stem)
def test_links_to_solutions_resolve(notebook):
    """A notebook that links its solutions (the line under its Exercises heading) links a file that exists."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown":
            for target in re.findall(r"\]\((solutions/[^)\s]+)\)", cell.source):
                assert (NOTEBOOKS / target).is_file(), f"{notebook.name} links {target}, which does not exist"


def test_notebook_03_links_its_solutions_and_times_every_exercise():
    notebook = NOTEBOOKS / "03_score_relationships.ipynb"
    cell = next(c.source for c in nbformat.read(notebook, as_version=4).cells
                if c.cell_type == "markdown" and EXERCISES_HEADING.search(c.source))
    assert "(solutions/03_score_relationships.md)" in cell
    items = [line for line in cell.splitlines() if NUMBERED_ITEM.match(line)]
    assert items and all(re.search(r"≈ \d+ min", line) for line in items), items


RUNNER = r'''
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
namespace = {"__name__": "__solutions__"}
for i, code in enumerate(re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)):
    if "# not run" in code:
        continue
    exec(compile(code, f"{sys.argv[1]} [python block {i}]", "exec"), namespace)
'''


def _solution_files():
    params = []
    for notebook in WALKTHROUGH:
        marks = [pytest.mark.slow] if notebook.stem in SLOW else []
        params.append(pytest.param(notebook.stem, marks=marks, id=notebook.stem))
    return params


@pytest.mark.parametrize("stem", _solution_files())
@pytest.mark.process
def test_solution_code_runs_at_test_size(stem, tmp_path):
    path = solution_file(NOTEBOOKS / f"{stem}.ipynb")
    assert PYTHON_BLOCK.findall(solution_text(path)), f"{path.name} has no python blocks"
    if path.suffix == ".ipynb":
        pytest.skip("notebook solutions run with the notebook tests")
    env = {**os.environ, "SCOREAUG_SIZE": "test", "SCOREAUG_RUNS": str(tmp_path / "runs"), "MPLBACKEND": "Agg",
           "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", RUNNER, str(path)], cwd=NOTEBOOKS, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, f"{path.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
