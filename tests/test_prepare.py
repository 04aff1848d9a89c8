"""The prepared run store: `RunStore.get_many` (parallel worker processes, bit for bit equal to sequential training,
resumable), `scoreaug-lab prepare`, and notebooks that train nothing against a prepared store."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
import torch

from scoreaug_lab.cli.common import Parser
from scoreaug_lab.cli.prepare import add_prepare_parser, cmd_prepare
from scoreaug_lab.cli.prepare import prepare
from scoreaug_lab.course import lessons
from scoreaug_lab.presets import digits_config, toy_config
from scoreaug_lab.runs.store import (
    ENV_FORBID, RunStore, TrainingForbidden, config_key, estimated_seconds, resolve_workers)
from scoreaug_lab.train.config import TrainConfig
from scoreaug_lab.train.loop import train

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
MAX_NOTEBOOK_MB = 5.0          # the bound for an executed notebook (outputs and saved widget state)
MAX_CARRIER_MB = 2.5           # the one figure that carries plotly's code, gzip-compressed (about 2.0 MB)
MAX_WIDGET_KB = 200            # any other widget: its layout and last trace message (PNG images, <= 2,000 points)


def weights(run) -> dict:
    return {k: v.clone() for k, v in run.model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def small_configs() -> dict:
    configs = {(v, s): toy_config(v, seed=s, size="test") for v in ("noaug", "scoreaug") for s in (0, 1)}
    configs["digits"] = digits_config("scoreaug", size="test")
    return configs


@pytest.mark.process
def test_get_many_in_parallel_equals_sequential_training_bit_for_bit(tmp_path):
    configs = small_configs()
    parallel = RunStore(tmp_path / "parallel").get_many(configs, workers=2, progress=False)
    assert set(parallel) == set(configs)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)               # a worker trains with one thread: so does the reference
    try:
        sequential = {k: RunStore(tmp_path / "sequential").get(c) for k, c in configs.items()}
    finally:
        torch.set_num_threads(threads)
    for key in configs:
        assert parallel[key].step == configs[key].steps
        assert same_weights(weights(parallel[key]), weights(sequential[key])), key
    # every run in its own store folder, named by its config
    assert {p.name for p in (tmp_path / "parallel").iterdir()} == {config_key(c) for c in configs.values()}


def test_get_many_keeps_the_shape_loads_finished_runs_and_lists_each_run_once(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    config = toy_config("noaug", seed=3, size="test")
    runs = store.get_many([config, config], workers=2, progress=False)     # one run, listed twice
    assert isinstance(runs, list) and len(runs) == 2 and runs[0] is runs[1]
    assert len(list(tmp_path.iterdir())) == 1
    monkeypatch.setenv(ENV_FORBID, "1")                                     # nothing to train: allowed
    again = RunStore(tmp_path).get_many({"a": config}, progress=False)
    assert list(again) == ["a"] and same_weights(weights(again["a"]), weights(runs[0]))
    with pytest.raises(TrainingForbidden, match="SCOREAUG_FORBID_TRAINING"):
        RunStore(tmp_path).get_many([toy_config("noaug", seed=4, size="test")], progress=False)
    with pytest.raises(TrainingForbidden):
        RunStore(tmp_path).get(toy_config("noaug", seed=4, size="test"))


def test_get_many_reports_progress_and_estimates(tmp_path):
    seen = []
    configs = [toy_config("noaug", seed=s, size="test") for s in (0, 1)]
    RunStore(tmp_path).get_many(configs, workers=1, progress=lambda done, total, label: seen.append((done, total)))
    total = sum(c.steps for c in configs)
    assert seen and seen[-1] == (total, total) and all(d <= t == total for d, t in seen)
    assert estimated_seconds(digits_config(size="teach")) > estimated_seconds(toy_config(size="teach")) > 0
    assert resolve_workers(None, 1) == 1 and resolve_workers(8, 3) == 3 and resolve_workers(None, 5, "cuda") == 1
    with pytest.raises(ValueError):
        resolve_workers(0, 3)


def test_samples_of_a_stored_run_are_saved_in_its_folder(tmp_path, monkeypatch):
    config = toy_config("noaug", seed=2, size="test")
    store = RunStore(tmp_path)
    run = store.get_many([config], progress=False)[0]
    x = store.samples(run, 16)
    path = store.samples_path(run, 16)
    assert path.is_file() and path.parent.parent == store.folder(config)
    fresh = RunStore(tmp_path)                       # another process, say a notebook after `prepare`
    monkeypatch.setattr(fresh, "_draw", lambda *a, **k: pytest.fail("saved samples were drawn again"))
    assert torch.equal(fresh.samples(fresh.get(config), 16), x)
    assert store.samples_path(run, 16, seed=1) != path and store.samples_path(run, 17) != path


def test_a_partial_run_resumes_to_the_same_weights(tmp_path):
    config = toy_config("scoreaug", seed=1, size="test", ckpt_every=20)
    whole = RunStore(tmp_path / "whole").get(config)
    store = RunStore(tmp_path / "partial")
    half = TrainConfig.from_dict({**config.to_dict(), "steps": 30, "out": str(store.folder(config)),
                                  "progress": False})
    train(half)                                                  # interrupted at step 30 of 60
    with open(store.folder(config) / "metrics.jsonl", "a") as f:
        f.write('{"step": 31, "loss": 0.')                       # a torn last line, as a kill leaves it
    assert store.pending([config]) == [config]
    resumed = store.get_many([config], workers=2, progress=False)[0]
    assert resumed.step == config.steps and same_weights(weights(resumed), weights(whole))


@pytest.mark.slow
def test_a_killed_prepare_resumes(tmp_path):
    """SIGKILL a process training several runs after its first checkpoints; a second request finishes them, equal to
    uninterrupted training."""
    configs = [toy_config(v, seed=0, size="test", steps=400, ckpt_every=40, eval_every=0)
               for v in ("noaug", "scoreaug")]
    script = textwrap.dedent(f"""
        from scoreaug_lab.presets import toy_config
        from scoreaug_lab.runs.store import RunStore
        if __name__ == "__main__":
            configs = [toy_config(v, seed=0, size="test", steps=400, ckpt_every=40, eval_every=0)
                       for v in ("noaug", "scoreaug")]
            RunStore({str(tmp_path / "store")!r}).get_many(configs, workers=2, progress=False)
    """)
    (tmp_path / "job.py").write_text(script)
    job = subprocess.Popen([sys.executable, str(tmp_path / "job.py")], start_new_session=True)
    store = RunStore(tmp_path / "store")
    checkpoints = [store.folder(c) / "checkpoint.pt" for c in configs]
    deadline = time.time() + 600
    while not any(p.is_file() for p in checkpoints) and job.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)                           # the job and its workers
    job.wait()
    runs = store.get_many(configs, workers=2, progress=False)
    for config, run in zip(configs, runs):
        whole = RunStore(tmp_path / "whole").get_many([config], workers=2, progress=False)[0]
        assert run.step == config.steps and same_weights(weights(run), weights(whole))


def test_lessons_list_each_notebooks_runs():
    for number, cls in lessons.LESSONS.items():
        lesson = lessons.get(number, "test")
        assert lessons.get(cls.notebook, "test").notebook == cls.notebook
        assert (NOTEBOOKS / f"{cls.notebook}.ipynb").is_file()
        for config in lesson.configs():
            config.validate()
    teach, test = lessons.get("04", "teach"), lessons.get("04", "test")
    assert len(teach.toy_configs()) == 18 and len(test.toy_configs()) == 4
    # notebook 04's explorer run is its sweep's (64 points, seed 0) at teaching size; 05 reuses 04's digits runs
    assert config_key(teach.explorer_config()) in {config_key(c) for c in teach.toy_configs().values()}
    assert {config_key(c) for c in lessons.get("05", "teach").digit_configs(["noaug"]).values()} <= \
        {config_key(c) for c in teach.digit_configs().values()}
    assert lessons.get("02").configs() == [] and lessons.get("03").configs() == []
    with pytest.raises(ValueError, match="unknown notebook"):
        lessons.get("09")


def test_a_lessons_runs_depend_on_its_size_only(monkeypatch):
    """`prepare --size S` and a notebook at SCOREAUG_SIZE=S ask for the same runs, whatever the environment says."""
    for size in ("teach", "test"):
        keys = {}
        for env in ("teach", "test"):
            monkeypatch.setenv("SCOREAUG_SIZE", env)
            keys[env] = [config_key(c) for n in lessons.LESSONS for c in lessons.get(n, size).configs()]
            keys[env] += [" ".join(c) for c in lessons.get("06", size).commands("/store")]
        assert keys["teach"] == keys["test"], size


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
