"""Nothing is lost, nothing hostile runs: run folders under faults (a second writer, --fresh, kills, Ctrl-C at every
point of a step, torn logs, orphaned temporary files, a diverging loss) and files that are not what they claim
(pickles that would run code, other tools' checkpoints, other networks' weights)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from scoreaug_lab.cli import main
from scoreaug_lab.runs.checkpoint import load_checkpoint
from scoreaug_lab.runs.folder import RunFolder
from scoreaug_lab.runs.folder import load_run, read_metrics
from scoreaug_lab.train.loop import NonFiniteLoss, TrainConfig, train

SMALL = dict(data="toy:gmm8", n_train=32, n_heldout=64, steps=12, batch_size=16, log_every=2, ckpt_every=4,
             progress=False, variant="scoreaug", transforms="rot90,scale",
             model_kwargs={"width": 16, "depth": 1, "fourier_features": 4})


def weights(out):
    ckpt = load_checkpoint(Path(out) / "checkpoint.pt")
    return ckpt["step"], ckpt["model"], ckpt["ema"]


def same(a, b):
    return a[0] == b[0] and all(torch.equal(a[1][k], b[1][k]) for k in a[1]) and all(torch.equal(a[2][k], b[2][k]) for k in a[2])


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "run"
    train(TrainConfig(**SMALL, out=str(out)))
    return weights(out), [m["step"] for m in read_metrics(out)]


# --- one writer, logs that agree with the checkpoint ----------------------------------------------------------
def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path, capsys):
    out = tmp_path / "r"
    holder = RunFolder(out).open()          # as if another `train` were writing this folder
    try:
        assert main(["train", "--steps", "2", "--no-progress", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"in use by another training process (PID {os.getpid()})" in err and err.count("\n") == 1
    finally:
        holder.close()
    assert main(["train", "--steps", "2", "--no-progress", "--batch-size", "8", "--out", str(out)]) == 0


def test_fresh_restarts_the_log_too(tmp_path, straight):
    out = tmp_path / "r"
    train(TrainConfig(**SMALL, out=str(out)))
    train(TrainConfig(**{**SMALL, "steps": 6}, out=str(out)), resume=False)
    assert [m["step"] for m in read_metrics(out)] == [2, 4, 6]


def test_a_kill_before_the_first_checkpoint_leaves_no_duplicate_lines(tmp_path, straight):
    out = tmp_path / "r"
    out.mkdir()
    (out / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "loss": 1.0}) + "\n" for s in (2, 4)))
    train(TrainConfig(**SMALL, out=str(out)))
    assert [m["step"] for m in read_metrics(out)] == straight[1]
    assert same(weights(out), straight[0])


def test_a_torn_last_line_and_orphaned_temporaries_are_cleaned_up(tmp_path, straight, capsys):
    out = tmp_path / "r"
    train(TrainConfig(**{**SMALL, "steps": 8}, out=str(out)))
    with open(out / "metrics.jsonl", "a") as f:
        f.write('{"step": 9, "loss": 0.')                              # a write cut by a crash
    (out / ".checkpoint.pt.abc123.tmp").write_bytes(b"half a checkpoint")
    train(TrainConfig(**SMALL, out=str(out)))
    assert "truncated back to the checkpoint's step 8" in capsys.readouterr().out
    assert [m["step"] for m in read_metrics(out)] == straight[1] and same(weights(out), straight[0])
    assert not list(out.glob(".checkpoint.pt.*.tmp"))


# --- Ctrl-C at every point of a step: the step and its bookkeeping are one unit --------------------------------
INTERRUPT_POINTS = ["draw_batch", "backward", "optimizer_step", "ema_update", "log", "checkpoint_save"]


def _inject(monkeypatch, trainer_cls, point, at_step):
    """Send a real SIGINT to this process while step `at_step` is at `point`."""
    import scoreaug_lab.runs.folder as run_folder
    import scoreaug_lab.train.loop as training
    state = {"step": 0}
    fire = lambda: os.kill(os.getpid(), signal.SIGINT)  # noqa: E731

    original_step = trainer_cls.train_step

    def train_step(self, net, ddp, step):
        state["step"] = step
        if point == "draw_batch" and step == at_step:
            real = self.draw_batch
            self.draw_batch = lambda: (fire(), real())[1]
        if point in ("optimizer_step", "ema_update") and step == at_step:
            target = self.optimizer if point == "optimizer_step" else self.ema
            name = "step" if point == "optimizer_step" else "update_parameters"
            real = getattr(target, name)
            setattr(target, name, lambda *a, **k: (real(*a, **k), fire())[0])
        out = original_step(self, net, ddp, step)
        for name in ("draw_batch",):
            self.__dict__.pop(name, None)
        self.optimizer.__dict__.pop("step", None)
        self.ema.__dict__.pop("update_parameters", None)
        return out

    monkeypatch.setattr(trainer_cls, "train_step", train_step)
    if point == "backward":
        real_loss = training.diffusion_loss

        def loss(*a, **k):
            batch = real_loss(*a, **k)
            if state["step"] == at_step:
                batch.loss.register_hook(lambda grad: (fire(), grad)[1])   # fires inside loss.backward()
            return batch
        monkeypatch.setattr(training, "diffusion_loss", loss)
    if point in ("log", "checkpoint_save"):
        cls, name = (run_folder.RunFolder, "log") if point == "log" else (run_folder.RunFolder, "save")
        real = getattr(cls, name)

        def wrapped(self, record):
            if state["step"] == at_step:
                fire()
            return real(self, record)
        monkeypatch.setattr(cls, name, wrapped)


@pytest.mark.parametrize("point", INTERRUPT_POINTS)
def test_ctrl_c_anywhere_in_a_step_resumes_to_the_same_model(tmp_path, monkeypatch, straight, point):
    from scoreaug_lab.train.loop import Trainer
    at_step = 8 if point == "checkpoint_save" else 7 if point != "log" else 6   # logs on even steps
    out = tmp_path / "r"
    with monkeypatch.context() as m:
        _inject(m, Trainer, point, at_step)
        with pytest.raises(KeyboardInterrupt):
            train(TrainConfig(**SMALL, out=str(out)))
    step, *_ = weights(out)
    assert step == at_step                       # the interrupted step was completed and saved as itself
    train(TrainConfig(**SMALL, out=str(out)))
    assert same(weights(out), straight[0]) and [m["step"] for m in read_metrics(out)] == straight[1]


@pytest.mark.process
def test_kill_9_mid_run_resumes_bit_for_bit(tmp_path, straight):
    out = tmp_path / "r"
    args = [sys.executable, "-m", "scoreaug_lab.cli", "train", "--data", "toy:gmm8", "--n-train", "32",
            "--n-heldout", "64", "--steps", "4000", "--batch-size", "16", "--log-every", "2", "--ckpt-every", "4",
            "--variant", "scoreaug", "--transforms", "rot90,scale", "--model-opt", "width=16", "--model-opt",
            "depth=1", "--model-opt", "fourier_features=4", "--no-progress", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}   # the same thread count as this process: the same sums
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (out / "checkpoint.pt").exists():
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        proc.kill()                              # SIGKILL: no handler runs
        proc.wait()
    step = load_checkpoint(out / "checkpoint.pt")["step"]
    assert 4 <= step < 4000
    train(TrainConfig(**{**SMALL, "steps": step + 4}, out=str(out)))
    reference = tmp_path / "ref"
    train(TrainConfig(**{**SMALL, "steps": step + 4}, out=str(reference)))
    assert same(weights(out), weights(reference))
    assert [m["step"] for m in read_metrics(out)] == [m["step"] for m in read_metrics(reference)]


def _lines_said(lines, n: int, timeout: float = 60.0) -> float:
    """Wait until lines() holds at least n lines; the seconds waited."""
    start = time.time()
    while len(lines()) < n and time.time() - start < timeout:
        time.sleep(0.05)
    return time.time() - start


HOLDER = ("import json, sys\n"
          "from scoreaug_lab.runs.store import RunStore\n"
          "from scoreaug_lab.train.config import TrainConfig\n"
          "RunStore(sys.argv[1]).get(TrainConfig.from_dict(json.loads(sys.argv[2])))\n")


@pytest.mark.process
@pytest.mark.parametrize("release", ["SIGCONT", "SIGKILL"])
def test_a_request_waiting_on_a_paused_trainer_says_whom_it_waits_for(tmp_path, monkeypatch, release):
    """A process training a run is stopped (Ctrl-Z, a stopped kernel) while it holds the folder; a second request
    says at once, and again every SAY_EVERY_S (not at every poll), which PID holds which run; once the holder
    resumes (SIGCONT) or dies (SIGKILL), the request goes on and returns the finished run."""
    import threading

    import scoreaug_lab.runs.store as store_module
    import scoreaug_lab.runs.waiting as waiting
    from scoreaug_lab.runs.store import RunStore, config_key
    config = TrainConfig(**{**SMALL, "steps": 600, "log_every": 50, "ckpt_every": 100})
    key, lock = config_key(config), tmp_path / config_key(config) / ".lock"
    env = {k: v for k, v in os.environ.items() if k != "SCOREAUG_FORBID_TRAINING"} | {"OMP_NUM_THREADS": "1"}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), json.dumps(config.to_dict())], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (lock.is_file() and lock.read_text().strip() == str(holder.pid)):
            time.sleep(0.01)
        os.kill(holder.pid, signal.SIGSTOP)
        monkeypatch.setattr(waiting, "SAY_EVERY_S", 1.0)
        monkeypatch.setattr(store_module, "BUSY_POLL_S", 0.1)
        said, got = [], {}
        waiter = threading.Thread(target=lambda: got.update(run=RunStore(tmp_path).get(config, say=said.append)))
        waiter.start()
        waited = _lines_said(lambda: said, 2)
        assert waiter.is_alive() and len(said) <= waited / waiting.SAY_EVERY_S + 1, said   # 10 polls a second
        assert all(f"PID {holder.pid}" in line and key in line for line in said), said
        os.kill(holder.pid, getattr(signal, release))
        waiter.join(180)
        assert not waiter.is_alive() and got["run"].step == config.steps
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("entry", ["RunStore.get", "train_worker"])
def test_a_waiting_request_says_whom_it_waits_for_on_stderr(tmp_path, monkeypatch, capsys, entry):
    """Both waiting loops (a request in this process, a pool's worker) name the holder and the run on stderr by
    default, and go on once the folder is free."""
    import threading

    import scoreaug_lab.runs.waiting as waiting
    from scoreaug_lab.runs.store import RunStore, config_key
    from scoreaug_lab.runs.workers import train_worker
    monkeypatch.setattr(waiting, "SAY_EVERY_S", 0.5)
    for module in ("store", "workers"):
        monkeypatch.setattr(f"scoreaug_lab.runs.{module}.BUSY_POLL_S", 0.05)
    config = TrainConfig(**{**SMALL, "steps": 4})
    key = config_key(config)
    holder = RunFolder(tmp_path / key).open()      # as if a paused process of this PID held it
    request = {"RunStore.get": lambda: RunStore(tmp_path).get(config),
               "train_worker": lambda: train_worker(config.to_dict(), str(tmp_path / key), "cpu")}[entry]
    waiter, err = threading.Thread(target=request), []
    try:
        waiter.start()
        waited = _lines_said(lambda: err.append(capsys.readouterr().err) or "".join(err).splitlines(), 2)
        assert waiter.is_alive() and "".join(err).count("waiting for") <= waited / waiting.SAY_EVERY_S + 1
    finally:
        holder.close()
    waiter.join(60)
    assert not waiter.is_alive() and load_checkpoint(tmp_path / key / "checkpoint.pt")["step"] == 4
    assert f"waiting for run {key}: PID {os.getpid()} is training it" in "".join(err)


def test_a_diverging_loss_stops_with_its_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    import scoreaug_lab.train.loop as training
    real, calls = training.diffusion_loss, {"n": 0}

    def loss(*a, **k):
        batch = real(*a, **k)
        calls["n"] += 1
        if calls["n"] >= 7:                      # steps 7, 8, ...: the loss turns NaN
            batch.loss = batch.loss * float("nan")
        return batch

    monkeypatch.setattr(training, "diffusion_loss", loss)
    out = tmp_path / "r"
    with pytest.raises(NonFiniteLoss, match="non-finite at step 7"):
        train(TrainConfig(**SMALL, out=str(out)))
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 4
    assert all(torch.isfinite(t).all() for t in load_checkpoint(out / "checkpoint.pt")["model"].values())
    calls["n"] = 0
    assert main(["train", "--data", "toy:gmm8", "--n-train", "32", "--n-heldout", "64", "--steps", "12",
                 "--batch-size", "16", "--log-every", "2", "--ckpt-every", "4", "--variant", "scoreaug",
                 "--transforms", "rot90,scale", "--model-opt", "width=16", "--model-opt", "depth=1",
                 "--model-opt", "fourier_features=4", "--no-progress", "--out", str(tmp_path / "cli")]) == 2
    assert "non-finite at step 7" in capsys.readouterr().err


# --- files that are not what they claim ----------------------------------------------------------------------
class Payload:
    """Unpickling this runs code (it would create the marker file)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def hostile_file(path: Path, marker: Path) -> Path:
    torch.save({"state_dict": Payload(marker), "weights": torch.zeros(3)}, path)
    return path


def test_hostile_inception_weights_never_run(tmp_path, monkeypatch):
    from scoreaug_lab.evaluate.fid import InceptionFeatures, find_inception_weights
    marker = tmp_path / "payload_ran"
    named = hostile_file(tmp_path / "weights.pth", marker)
    with pytest.raises(ValueError, match="refusing the Inception weights"):
        InceptionFeatures(named)
    # the default cache location ($TORCH_HOME/hub/checkpoints/...) goes through the same door
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("SCOREAUG_INCEPTION_WEIGHTS", raising=False)
    from scoreaug_lab.evaluate.fid import inception_weights_file
    default = inception_weights_file()
    default.parent.mkdir(parents=True)
    hostile_file(default, marker)
    found, _ = find_inception_weights(download=False)
    assert found == default
    with pytest.raises(ValueError, match="refusing the Inception weights"):
        InceptionFeatures(found)
    assert not marker.exists()


def test_hostile_inception_weights_through_evaluate(tmp_path, capsys):
    marker = tmp_path / "payload_ran"
    run = tmp_path / "digits"
    assert main(["train", "--data", "digits:8", "--n-train", "16", "--n-heldout", "16", "--steps", "1",
                 "--batch-size", "4", "--model-opt", "model_channels=4", "--model-opt", "channel_mult=1,2",
                 "--model-opt", "mid_attention=false", "--no-progress", "--out", str(run)]) == 0
    weights_file = hostile_file(tmp_path / "w.pth", marker)
    assert main(["evaluate", "--run", str(run), "--n-samples", "4", "--n-per-band", "2", "--n-equivariance", "1",
                 "--num-steps", "2", "--fid", "inception", "--inception-weights", str(weights_file)]) == 2
    assert "refusing the Inception weights" in capsys.readouterr().err and not marker.exists()


def test_hostile_checkpoint_and_classifier_never_run(tmp_path, capsys):
    from scoreaug_lab.evaluate.classifier import load_classifier
    marker = tmp_path / "payload_ran"
    run = tmp_path / "r"
    run.mkdir()
    hostile_file(run / "checkpoint.pt", marker)
    (run / "config.json").write_text("{}")
    assert main(["sample", "--run", str(run), "--out", str(tmp_path / "s.npz")]) == 2
    assert "cannot read checkpoint" in capsys.readouterr().err
    with pytest.raises(ValueError):
        load_classifier(hostile_file(tmp_path / "c.pt", marker))
    assert not marker.exists()


def test_npz_with_pickled_objects_is_refused(tmp_path):
    import numpy as np

    from scoreaug_lab.data import load_data
    path = tmp_path / "evil.npz"
    np.savez(path, x_train=np.array([Payload(tmp_path / "m")], dtype=object), y_train=np.zeros(1),
             x_test=np.zeros(1), y_test=np.zeros(1))
    with pytest.raises(ValueError, match="Object arrays cannot be loaded"):
        load_data(f"cifar10:{path}", 1, 1)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("kind", ["dict of another tool", "list", "another model's weights", "a U-Net's weights",
                                  "no generator"])
def test_foreign_checkpoints_are_refused_in_one_line(tmp_path, capsys, kind):
    run = tmp_path / "r"
    train(TrainConfig(**{**SMALL, "steps": 4}, out=str(run)))
    ckpt = load_checkpoint(run / "checkpoint.pt")
    if kind == "dict of another tool":
        ckpt = {"state_dict": ckpt["model"], "epoch": 3}
    elif kind == "list":
        ckpt = [ckpt["model"]]
    elif kind == "another model's weights":
        bigger = train(TrainConfig(**{**SMALL, "steps": 1, "model_kwargs": {"width": 32, "depth": 1, "fourier_features": 4}}))
        ckpt["model"] = ckpt["ema"] = bigger.model.state_dict()
    elif kind == "a U-Net's weights":
        from scoreaug_lab.models import build_model
        ckpt["model"] = ckpt["ema"] = build_model("unet-tiny", (1, 8, 8), channel_mult=(1, 2)).state_dict()
    else:
        del ckpt["generator"]
    torch.save(ckpt, run / "checkpoint.pt")
    expected = {"dict of another tool": "missing", "list": "not a scoreaug-lab checkpoint",
                "another model's weights": "do not fit", "a U-Net's weights": "do not fit",
                "no generator": "generator"}[kind]
    argv = ["train", "--data", "toy:gmm8", "--n-train", "32", "--n-heldout", "64", "--steps", "8", "--batch-size", "16",
            "--log-every", "2", "--ckpt-every", "4", "--variant", "scoreaug", "--transforms", "rot90,scale",
            "--model-opt", "width=16", "--model-opt", "depth=1", "--model-opt", "fourier_features=4", "--no-progress",
            "--out", str(run)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err
    if kind != "no generator":                     # sampling needs no generator; the others are refused there too
        assert main(["sample", "--run", str(run), "--seeds", "0-3", "--out", str(tmp_path / "s.npz")]) == 2
        assert expected in capsys.readouterr().err
    with pytest.raises(ValueError):
        load_run(run) if kind != "no generator" else train(TrainConfig(**{**SMALL, "steps": 8}, out=str(run)))


# --- issue 21: a real full disk, files read back that are not what they claim -------------------------------------
@pytest.mark.process   # mount(8)
def test_a_real_full_disk_keeps_the_previous_checkpoint(tmp_path, capsys):
    """On a real full disk torch.save raises RuntimeError ('unexpected pos'), not OSError: still a failed write."""
    from support import mount_tmpfs
    with mount_tmpfs(tmp_path / "mnt", "200k") as mnt:
        folder = RunFolder(mnt / "r").open()
        try:
            folder.save({"step": 1, "w": torch.zeros(1000)})
            with pytest.raises(OSError, match="No space left on device.*the previous checkpoint is intact"):
                folder.save({"step": 2, "w": torch.zeros(100_000)})
        finally:
            folder.close()
        assert load_checkpoint(mnt / "r" / "checkpoint.pt")["step"] == 1
        assert not list((mnt / "r").glob(".checkpoint.pt.*.tmp"))
        out = mnt / "cli"          # the same through `train`: one line, exit 1, the last checkpoint kept
        argv = ["train", "--data", "digits:8", "--n-train", "16", "--n-heldout", "16", "--batch-size", "4",
                "--steps", "40", "--ckpt-every", "2", "--no-progress", "--out", str(out)]
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "No space left on device" in err, err
        step = load_checkpoint(out / "checkpoint.pt")["step"] if (out / "checkpoint.pt").exists() else 0
        assert step < 40 and not list(out.glob(".checkpoint.pt.*.tmp"))


def test_a_metric_log_that_is_not_text_is_named(tmp_path):
    train(TrainConfig(**{**SMALL, "steps": 4}, out=str(tmp_path / "r")))
    log = tmp_path / "r" / "metrics.jsonl"
    log.write_bytes(log.read_bytes() + b"\xff\xfe not text\n")
    with pytest.raises(ValueError, match=f"{log} is not a metric log of scoreaug-lab: not UTF-8"):
        read_metrics(tmp_path / "r")
    log.write_text('{"step": 2}\n[1, 2\n')
    with pytest.raises(ValueError, match="metrics.jsonl, line 2: not a JSON record"):
        read_metrics(tmp_path / "r")


@pytest.mark.parametrize("damage", ["measures.json holds a list", "measures.json is not JSON",
                                    "samples_head.pt is not a tensor file", "samples_head.pt is missing"])
def test_reproduce_measures_a_run_again_when_its_saved_measures_are_damaged(tmp_path, damage):
    from scoreaug_lab.reproduce.runner import MEASURES_FILE, SuiteRunner
    from scoreaug_lab.reproduce.measures import SAMPLES_FILE
    from scoreaug_lab.reproduce.suite import BUDGETS, build_runs, classifier_specs
    budget = BUDGETS["smoke"]
    spec, said = build_runs(budget)[0], []
    runner = SuiteRunner(tmp_path / "out", [spec], classifier_specs(budget), workers=1, progress=False,
                         log=said.append)
    infos = {name: {"spec": s} for name, s in classifier_specs(budget).items()}
    folder = runner.run_dir(spec)
    folder.mkdir(parents=True)
    good = {"key": runner.measure_key(spec, infos), "gap": 0.5}
    (folder / MEASURES_FILE).write_text(json.dumps(good))
    torch.save(torch.zeros(2, 1, 8, 8), folder / SAMPLES_FILE)
    assert runner._stored_measures(spec, infos) == good and said == []       # whole: reused
    if damage == "measures.json holds a list":
        (folder / MEASURES_FILE).write_text("[1, 2, 3]")
    elif damage == "measures.json is not JSON":
        (folder / MEASURES_FILE).write_bytes(b"\xff{")
    elif damage == "samples_head.pt is not a tensor file":
        (folder / SAMPLES_FILE).write_bytes(b"half a file")
    else:
        (folder / SAMPLES_FILE).unlink()
    assert runner._stored_measures(spec, infos) is None                      # measured again ...
    assert len(said) == 1 and "again" in said[0] and spec.name in said[0]    # ... and said in one line


@pytest.mark.process
def test_four_concurrent_requesters_of_one_run_train_it_once(tmp_path):
    """Four processes ask the store for the same missing run at once: one trains it (the others wait on its lock),
    its log holds each step once, and its weights equal a run trained alone."""
    config = {**SMALL, "steps": 40, "ckpt_every": 8}
    script = ("import sys\nfrom scoreaug_lab.runs.store import RunStore\nfrom scoreaug_lab.train.config import "
              f"TrainConfig\nrun = RunStore(sys.argv[1]).get(TrainConfig(**{config!r}))\nprint(run.step)\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "store")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4 and [o.strip() for o, _ in outputs] == ["40"] * 4, outputs
    (folder,) = (tmp_path / "store").iterdir()
    steps = [m["step"] for m in read_metrics(folder)]
    assert steps == sorted(set(steps)) and steps[-1] == 40
    alone = tmp_path / "alone"
    train(TrainConfig(**config, out=str(alone)))
    assert same(weights(folder), weights(alone))
