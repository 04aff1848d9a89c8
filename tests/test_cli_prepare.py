"""cli.prepare: the command lists and refuses bad input; notebooks on a prepared store train nothing."""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from scoreaug_lab.cli.common import Parser
from scoreaug_lab.cli.prepare import add_prepare_parser, cmd_prepare, prepare
from scoreaug_lab.course import lessons
from scoreaug_lab.runs.store import ENV_FORBID, config_key

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
MAX_NOTEBOOK_MB = 5.0          # the bound for an executed notebook (outputs and saved widget state)
MAX_CARRIER_MB = 2.5           # the one figure that carries plotly's code, gzip-compressed (about 2.0 MB)
MAX_WIDGET_KB = 200            # any other widget: its layout and last trace message (PNG images, <= 2,000 points)


@pytest.mark.process
def test_prepare_command_lists_and_refuses_bad_input(tmp_path, capsys):
    parser = Parser(prog="scoreaug-lab")
    add_prepare_parser(parser.add_subparsers(dest="command", parser_class=Parser))
    args = parser.parse_args(["prepare", "00", "04", "--size", "test", "--runs", str(tmp_path), "--list"])
    assert cmd_prepare(args) == 0
    out = capsys.readouterr().out
    assert "00_quickstart: 2 store run(s), 2 missing" in out and "04_overfitting_with_little_data" in out
    with pytest.raises(ValueError, match="unknown notebook"):
        cmd_prepare(parser.parse_args(["prepare", "42", "--runs", str(tmp_path)]))
    code = subprocess.run([sys.executable, "-m", "scoreaug_lab.cli.prepare", "00", "--workers", "0"],
                          capture_output=True, text=True).returncode
    assert code == 2


def files_of(root: Path) -> dict:
    """{path: (size, mtime_ns)} of every file under root (a store): what training or evaluation would change."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def execute(path: Path, env: dict):
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return nb


def check_size(nb, widgets: bool) -> None:
    """The executed notebook is small enough to hand out, and no widget's saved state is large (see the bounds)."""
    text = nbformat.writes(nb)
    assert len(text.encode()) <= MAX_NOTEBOOK_MB * 1e6
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    sizes = sorted((len(json.dumps(entry)) for entry in state.values()), reverse=True)
    if not widgets:
        return
    assert sizes, "the notebook shows widgets: their state is saved"
    assert sizes[0] <= MAX_CARRIER_MB * 1e6
    assert all(s <= MAX_WIDGET_KB * 1e3 for s in sizes[1:]), sizes[:3]


@pytest.mark.slow
@pytest.mark.parametrize("number", ["04", "06"])
def test_a_notebook_against_a_prepared_store_trains_nothing(number, tmp_path):
    store = tmp_path / "store"
    summary = prepare([number], "test", store, workers=2, progress=False, log=lambda *_: None)
    store_keys = {config_key(c) for c in lessons.get(number, "test").configs()}
    assert summary["trained"] == len(store_keys)
    before = files_of(store)
    assert before and (number != "06" or any(p.endswith("eval.json") for p in before))
    path = NOTEBOOKS / f"{lessons.LESSONS[number].notebook}.ipynb"
    nb = execute(path, {"SCOREAUG_SIZE": "test", "SCOREAUG_RUNS": str(store), ENV_FORBID: "1", "MPLBACKEND": "Agg"})
    after = files_of(store)
    assert after == before, (set(after) ^ set(before)) or [k for k in after if after[k] != before[k]]
    assert {p.name for p in store.iterdir()} >= store_keys
    check_size(nb, widgets=number == "04")
