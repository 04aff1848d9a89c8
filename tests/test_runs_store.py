"""runs.store: RunStore trains once, resumes, and get_many's workers equal sequential training bit for bit."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from scoreaug_lab.presets import digits_config, toy_config
from scoreaug_lab.runs.store import (ENV_FORBID, RunStore, TrainingForbidden, config_key, estimated_seconds,
                                     resolve_workers)
from scoreaug_lab.train.config import TrainConfig
from scoreaug_lab.train.loop import train

from support import _scaled_points as _points

TINY = dict(width=16, depth=1, fourier_features=4)


def test_run_store_trains_once_then_loads_from_disk(tmp_path):
    config = TrainConfig(data="toy:gmm8", n_train=16, n_heldout=100, steps=12, batch_size=16, model_kwargs=TINY,
                         log_every=4, ckpt_every=12, eval_every=6)
    store = RunStore(tmp_path)
    seen = []
    run = store.get(config, progress=lambda step, total: seen.append((step, total)))
    assert seen[-1] == (12, 12) and run.step == 12 and run.run_dir == tmp_path / config_key(config)
    assert [m["step"] for m in run.metrics if "eval" in m] == [6, 12]
    assert store.get(config) is run                                       # memory
    fresh = RunStore(tmp_path).cached(config)                             # disk, no training
    assert fresh is not None and fresh.step == 12
    x = torch.tensor([[0.3, -0.2]])
    assert (fresh.model(x, torch.tensor([0.5])) - run.model(x, torch.tensor([0.5]))).abs().max() == 0
    assert store.samples(run, 8) is store.samples(run, 8)                 # memoised
    other = TrainConfig.from_dict({**config.to_dict(), "seed": 1})
    assert config_key(other) != config_key(config) and store.cached(other) is None
    where = TrainConfig.from_dict({**config.to_dict(), "out": "elsewhere", "progress": False, "device": "cpu"})
    assert config_key(where) == config_key(config)                        # where and how: not in the hash


def test_run_store_resumes_an_interrupted_run(tmp_path):
    config = TrainConfig(data="toy:gmm8", n_train=16, n_heldout=100, steps=12, batch_size=16, model_kwargs=TINY,
                         log_every=3, ckpt_every=6)
    half = TrainConfig.from_dict({**config.to_dict(), "steps": 6, "progress": False,
                                  "out": str(tmp_path / "a" / config_key(config))})
    train(half)                                                           # interrupted after 6 of 12 steps
    store = RunStore(tmp_path / "a")
    assert store.cached(config) is None                                   # unfinished: not a stored run
    seen = []
    resumed = store.get(config, progress=lambda step, total: seen.append(step))
    assert resumed.step == 12 and min(seen) > 6                           # trained steps 7 to 12 only
    straight = RunStore(tmp_path / "b").get(config)
    x, s = _points(5, 9).float(), torch.full((5,), 0.4)
    assert (resumed.model(x, s) - straight.model(x, s)).abs().max() < 1e-6


# --- get_many --------------------------------------------------------------------------------------------
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


@pytest.mark.parametrize("damage", ["nan", "inf", "garbage", "truncated", "a pickle", "integers"])
def test_a_damaged_samples_file_is_drawn_again(tmp_path, damage):
    """The saved samples are what sampling.sample draws from those seeds; a file of NaN, an unreadable one or
    one holding something else is drawn again (and saved again), never returned or raised."""
    config = toy_config("noaug", seed=2, size="test")
    store = RunStore(tmp_path)
    run = store.get_many([config], progress=False)[0]
    x = store.samples(run, 16, seed=5)
    assert torch.equal(x, store._draw(run.model, (2,), 16, seed=5))              # oracle: the seeds' own samples
    path = store.samples_path(run, 16, seed=5)
    if damage in ("nan", "inf", "integers"):
        torch.save({"nan": torch.full((16, 2), float("nan")), "inf": torch.full((16, 2), float("inf")),
                    "integers": torch.zeros(16, 2, dtype=torch.long)}[damage], path)
    elif damage == "a pickle":
        import pickle
        path.write_bytes(pickle.dumps(("not", "samples")))
    else:
        path.write_bytes(b"garbage" if damage == "garbage" else path.read_bytes()[:100])
    again = RunStore(tmp_path).samples(run, 16, seed=5)
    assert torch.equal(again, x)
    assert torch.equal(torch.load(path, weights_only=True), x)                    # and saved again


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
