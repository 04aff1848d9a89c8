"""Every notebook in notebooks/ runs top to bottom at its test size (SCOREAUG_SIZE=test) and then passes its
headline checks: tests/notebook_checks/<notebook>.py, run in the notebook's kernel after its last cell (hidden from
students: the committed notebook does not hold them), which recompute the key numbers with the library or a closed
form and assert the effect the notebook teaches."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECKS = Path(__file__).resolve().parent / "notebook_checks"


def test_every_notebook_has_its_checks():
    assert sorted(p.stem for p in CHECKS.glob("*.py")) == [p.stem for p in NOTEBOOKS]


@pytest.mark.slow
@pytest.mark.process
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_shows_its_headline(path, tmp_path, monkeypatch):
    monkeypatch.setenv("SCOREAUG_SIZE", "test")
    monkeypatch.setenv("SCOREAUG_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell((CHECKS / f"{path.stem}.py").read_text()))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    assert nb.cells[-1].outputs[-1].get("text", "").strip() == "notebook checks passed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_committed_clean(path):
    """Committed without outputs, and opening with a markdown cell that says what it teaches."""
    nb = nbformat.read(path, as_version=4)
    assert nb.cells and nb.cells[0].cell_type == "markdown", "a notebook opens with what it teaches"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"
