"""A run folder: config.json, metrics.jsonl and checkpoint.pt, kept in agreement; written here and read here.

    folder = RunFolder(out).open()          # writing: takes the folder's lock (a second writer is refused)
    start = folder.restore(...)             # from checkpoint.pt, or 0
    folder.log({...}); folder.save(state)   # metric lines; atomic checkpoints
    folder.close()

    run = load_run(out)                     # reading: a `Run` (config, set-up, EMA model, step, metrics)
    list_runs(parent)                       # the run folders in a folder

Guarantees: one writer at a time (an OS file lock on `.lock`, held for the whole run; the second one is
refused with the holder's PID); after any fault the metric lines and config.json agree with the checkpoint
(resume truncates metrics.jsonl back to the checkpoint's step, dropping a torn last line, and says so);
leftover temporary files of interrupted checkpoint writes are removed.
"""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import validation as V
from ..train.build import build_setup, resolve_device
from ..train.config import TrainConfig
from . import sharing
from .checkpoint import atomic_save, check_run_checkpoint, load_checkpoint, load_weights, save_json

CHECKPOINT = "checkpoint.pt"
BEST = "best_ema.pt"       # with keep_best: {"step", "heldout", "ema"} of the lowest held-out loss so far
CONFIG = "config.json"
METRICS = "metrics.jsonl"
LOCK = ".lock"


class RunFolderBusy(ValueError):
    """Another process is writing this run folder."""


class RunFolder:
    """One run folder, written by one process (rank 0) at a time."""

    def __init__(self, out, announce=print):
        self.path = V.folder_path("the run folder (--out)", out)
        self.announce = announce
        self._lock_file = None
        self._log = None

    # --- lock ---------------------------------------------------------------------------------------
    def open(self) -> "RunFolder":
        self.path.mkdir(parents=True, exist_ok=True)
        sharing.open_for_training(self.path)     # in a class store: the class may lock and resume it
        lock = _open_lock(self.path / LOCK)
        sharing.share_training_file(self.path / LOCK)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            lock.close()
            raise RunFolderBusy(f"run folder {self.path} is in use by another training process (PID {holder}); "
                                "wait for it to finish or use another --out") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock_file = lock
        self._remove_stale_temporaries()
        return self

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    def seal(self) -> None:
        """The run is finished: in a class store, what this user wrote becomes read-only to the others."""
        sharing.seal(self.path)

    def _remove_stale_temporaries(self) -> None:
        for tmp in self.path.glob(f".{CHECKPOINT}.*.tmp"):
            tmp.unlink(missing_ok=True)

    # --- state ----------------------------------------------------------------------------------------
    def checkpoint(self, map_location="cpu") -> dict | None:
        """The saved checkpoint, or None when the folder holds none."""
        if not (self.path / CHECKPOINT).is_file():
            return None
        return load_checkpoint(self.path / CHECKPOINT, map_location=map_location)

    def start(self, config_dict: dict, step: int) -> None:
        """Begin writing at `step` (0 for a new run): metric lines after it go, config.json is rewritten."""
        self.truncate_metrics(step)
        save_json(config_dict, self.path / CONFIG)
        self._log = open(self.path / METRICS, "a")
        sharing.share_training_file(self.path / METRICS)

    def truncate_metrics(self, step: int) -> None:
        """Keep the metric lines of steps <= `step` (a torn or unreadable line is dropped, and said)."""
        path = self.path / METRICS
        if path.is_dir():
            raise ValueError(f"{path} is a directory, not the run's metric log: move it away or use another --out")
        if not path.exists():
            return
        keep, dropped, torn = [], 0, 0
        for line in path.read_text(errors="replace").splitlines():   # a line that is not UTF-8 is unreadable
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                torn += 1
                continue
            if record.get("step", 0) <= step:
                keep.append(line)
            else:
                dropped += 1
        if dropped or torn:
            path.write_text("".join(line + "\n" for line in keep))
            what = [f"{dropped} line(s) after step {step}"] if dropped else []
            what += [f"{torn} unreadable line(s)"] if torn else []
            self.announce(f"{self.path}: {METRICS} truncated back to the checkpoint's step {step} "
                          f"(dropped {' and '.join(what)})")

    def log(self, record: dict) -> None:
        self._log.write(json.dumps(record) + "\n")
        self._log.flush()

    def save(self, state: dict) -> None:
        """Write checkpoint.pt atomically (a failed write, e.g. a full disk, leaves the previous one intact)."""
        try:
            atomic_save(state, self.path / CHECKPOINT)
        except OSError as err:
            raise OSError(f"could not write {self.path / CHECKPOINT} ({err.strerror or err}); "
                          "the previous checkpoint is intact") from None

    def save_best(self, state: dict) -> None:
        """Write best_ema.pt atomically (keep_best runs)."""
        try:
            atomic_save(state, self.path / BEST)
        except OSError as err:
            raise OSError(f"could not write {self.path / BEST} ({err.strerror or err}); the previous one is intact") \
                from None


@dataclass
class Run:
    """A trained run, however it was found (a folder, the run store): its config, model, data and metrics."""

    key: str                        # the store's key, or the folder
    config: TrainConfig
    model: object                   # the EMA denoiser, eval mode
    setup: object                   # train.build.build_setup's namespace: data, variant, sampler, ...
    step: int
    run_dir: Path | None
    metrics: list = field(default_factory=list)

    @property
    def data(self):
        return self.setup.data

    @property
    def sampler(self):
        return self.setup.sampler

    @property
    def kind(self) -> str:
        return self.setup.data.kind


def load_run(run_dir, device: str = "auto", use_ema: bool = True, key: str | None = None, best: bool = False) -> Run:
    """The run of a folder: `model` is the EMA denoiser in eval mode (or the raw one with use_ema=False), with
    the run's data, variant and transform sampler in `setup`, and its metric lines. best=True: the EMA weights
    of the lowest held-out loss (best_ema.pt of a keep_best run) instead, and `step` is that evaluation's."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    if not (run_dir / CHECKPOINT).is_file():
        raise FileNotFoundError(f"{run_dir} holds no {CHECKPOINT}: was it written by `scoreaug-lab train`?")
    dev = resolve_device(device)
    path = run_dir / CHECKPOINT
    ckpt = check_run_checkpoint(load_checkpoint(path, map_location=dev), path, ("step", "config", "model", "ema"))
    try:
        # where it was trained may be elsewhere (a store copied to a hub, another user's folder): it is here now
        config = TrainConfig.from_dict({**ckpt["config"], "out": str(run_dir)})
    except TypeError as err:
        raise ValueError(f"{path}: its config is not a TrainConfig ({err})") from None
    config.device = str(dev)
    setup = build_setup(config, dev)
    load_weights(setup.model, ckpt["model"], path)
    load_weights(setup.ema, ckpt["ema"], path, "EMA")
    step = int(ckpt["step"])
    if best:
        if not use_ema:
            raise ValueError("best_ema.pt holds EMA weights only; use use_ema=True with best=True")
        best_path = run_dir / BEST
        if not best_path.is_file():
            raise FileNotFoundError(f"{run_dir} holds no {BEST}: was it trained with keep_best?")
        kept = check_run_checkpoint(load_checkpoint(best_path, map_location=dev), best_path, ("step", "ema"))
        load_weights(setup.ema, kept["ema"], best_path, "EMA")
        step = int(kept["step"])
    model = setup.ema.module if use_ema else setup.model
    model.eval()
    return Run(key or str(run_dir), config, model, setup, step, run_dir, read_metrics(run_dir))


def read_metrics(run_dir) -> list[dict]:
    """The metric lines of a run (metrics.jsonl), in order; one ValueError naming the file when it is not a
    metric log (not UTF-8 text, a line that is not a JSON record)."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a metric log of scoreaug-lab: not UTF-8 text (byte {err.start})") from None
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except ValueError as err:
            raise ValueError(f"{path}, line {number}: not a JSON record ({err})") from None
    return records


def _open_lock(path: Path):
    """The run folder's lock file, opened for writing; one ValueError when that name is a folder."""
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not the run folder's lock file: remove it and run again")
    return open(path, "a+")


def read_config(run_dir) -> TrainConfig:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} holds no {CONFIG}")
    return TrainConfig.from_dict(json.loads(path.read_text()))


def list_runs(runs_dir) -> list[Path]:
    """Run folders (holding config.json and checkpoint.pt) directly in `runs_dir` or one level below, sorted."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise FileNotFoundError(f"runs folder {runs_dir} does not exist")
    found = []
    for candidate in [runs_dir, *sorted(p for p in runs_dir.iterdir() if p.is_dir())]:
        for folder in [candidate] if candidate == runs_dir else [candidate, *sorted(candidate.iterdir())]:
            if folder.is_dir() and (folder / CHECKPOINT).is_file() and (folder / CONFIG).is_file():
                found.append(folder)
    return sorted(dict.fromkeys(found))


__all__ = ["BEST", "CHECKPOINT", "CONFIG", "LOCK", "METRICS", "Run", "RunFolder", "RunFolderBusy",
           "list_runs", "load_run", "read_config", "read_metrics"]
