"""The run store: runs keyed by their configuration, trained once into a shared folder and loaded from it
afterwards, run folders written by `scoreaug-lab train`, and the samples drawn from either (memoised, so
revisiting a setting is instant). Notebooks, widgets, benchmarks and `scoreaug-lab prepare` share it.

    store = get_store()                       # folder: argument, else $SCOREAUG_RUNS, else runs/store
    run = store.get(TrainConfig(...), progress=lambda step, total: ...)   # trains once, then loads
    x = store.samples(run, n=500)             # omega = 0; memoised per (run, n, omega, sampler options)

A cached run lives in <root>/<data>_<variant>_n<n_train>_<hash>/ (an ordinary run folder: config.json,
metrics.jsonl, checkpoint.pt), where the hash covers every field of the config except where it is written
and how it is shown (out, progress, device). A run interrupted half-way resumes exactly on the next request.
`BackgroundTrainer` trains in a worker thread (latest request wins) so that a notebook stays usable.
`list_runs` finds run folders; `StoredRun` is what a stored run holds.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .checkpoint import load_checkpoint
from .config import TrainConfig
from .run_folder import CHECKPOINT
from .runs import list_runs, load_run, read_metrics  # noqa: F401 (list_runs re-exported)
from .sampling import sample
from .training import train_iter

ENV_RUNS = "SCOREAUG_RUNS"
DEFAULT_ROOT = Path("runs") / "store"
KEY_EXCLUDES = ("out", "progress", "device")


def default_root(root=None) -> Path:
    """The store folder: `root`, else $SCOREAUG_RUNS, else runs/store (relative to the working directory)."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get(ENV_RUNS) or DEFAULT_ROOT)


def config_key(config: TrainConfig) -> str:
    """A readable, stable folder name for a configuration: <data>_<variant>_n<n_train>_<10 hex digits>."""
    fields = {k: v for k, v in config.to_dict().items() if k not in KEY_EXCLUDES}
    digest = hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:10]
    data = "".join(c if c.isalnum() else "-" for c in config.data)
    return f"{data}_{config.variant}_n{config.n_train}_{digest}"


@dataclass
class StoredRun:
    """A trained model with what its users need: its config, data split, transform sampler and metrics."""

    key: str
    config: TrainConfig
    model: object                   # the EMA denoiser, eval mode
    setup: object                   # training.build_setup namespace: data, variant, sampler, ...
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


_KEY_LOCKS: dict = {}
_KEY_LOCKS_GUARD = threading.Lock()


def _key_lock(key: str) -> threading.Lock:
    """One lock per run key in this process: two threads never train the same run at once."""
    with _KEY_LOCKS_GUARD:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


class RunStore:
    """Trained runs and their samples, in memory and on disk under `root`."""

    def __init__(self, root=None, device: str = "cpu", max_samples: int = 512):
        self.root = default_root(root)
        self.device = device
        self.max_samples = int(max_samples)
        self._runs: dict[str, StoredRun] = {}
        self._samples: OrderedDict = OrderedDict()
        self._lock = threading.RLock()

    # --- runs ------------------------------------------------------------------------------------
    def cached(self, config: TrainConfig) -> StoredRun | None:
        """The run of `config` if it is in memory or finished on disk (then loaded), else None."""
        key = config_key(config)
        with self._lock:
            if key in self._runs:
                return self._runs[key]
        folder = self.root / key
        if not (folder / CHECKPOINT).is_file():
            return None
        ckpt = load_checkpoint(folder / CHECKPOINT, map_location="cpu")
        if int(ckpt["step"]) < config.steps:
            return None  # interrupted: `get` resumes it
        return self._remember(key, self.load(folder, key=key))

    def get(self, config: TrainConfig, progress=None) -> StoredRun:
        """The run of `config`: from memory, from disk, or trained now (into its cache folder, resuming a
        partial run). progress(step, total) is called during training (about 100 times)."""
        config.validate()
        run = self.cached(config)
        if run is not None:
            return run
        key = config_key(config)
        with _key_lock(key):
            run = self.cached(config)  # another thread may have finished it meanwhile
            if run is not None:
                return run
            folder = self.root / key
            train_config = TrainConfig.from_dict({**config.to_dict(), "out": str(folder), "progress": False,
                                                  "device": self.device})
            every = max(1, config.steps // 100)
            state = None
            for state in train_iter(train_config, resume=True):
                if progress is not None and (state.step % every == 0 or state.step == config.steps):
                    progress(state.step, config.steps)
            if state is None and not (folder / CHECKPOINT).is_file():
                raise RuntimeError(f"training {key} produced no checkpoint")
            return self._remember(key, self.load(folder, key=key))

    def load(self, run_dir, key: str | None = None) -> StoredRun:
        """Any run folder written by `scoreaug-lab train` (memoised by folder and checkpoint time)."""
        run_dir = Path(run_dir)
        stamp = (run_dir / CHECKPOINT).stat().st_mtime_ns if (run_dir / CHECKPOINT).is_file() else 0
        memo = key or f"dir:{run_dir.resolve()}:{stamp}"
        with self._lock:
            if memo in self._runs:
                return self._runs[memo]
        loaded = load_run(run_dir, device=self.device)
        run = StoredRun(memo, loaded.config, loaded.model, loaded.setup, loaded.step, run_dir, read_metrics(run_dir))
        return self._remember(memo, run)

    def _remember(self, key: str, run: StoredRun) -> StoredRun:
        with self._lock:
            return self._runs.setdefault(key, run)

    # --- samples ---------------------------------------------------------------------------------
    def samples(self, run: StoredRun, n: int, omega: torch.Tensor | None = None, tag: str = "",
                seed: int = 0, **sampler_kwargs) -> torch.Tensor:
        """Samples (n, *data_shape) of the run's model, one per seed (seed, ..., seed + n - 1), with `omega`
        (None: the identity) given to every sample; memoised under (run, n, seed, tag, options). `tag` must
        name the omega (e.g. "scale:0.35") when one is given."""
        if omega is not None and not tag:
            raise ValueError("samples with an omega need a tag naming it (the memo key)")
        return self.memo((run.key, "samples", n, seed, tag, tuple(sorted(sampler_kwargs.items()))),
                         lambda: self.draw(run.model, run.data.data_shape, n, omega, seed, **sampler_kwargs))

    def oracle_samples(self, key: tuple, model, data_shape, n: int, seed: int = 0, **sampler_kwargs):
        """Samples of a model that is not a run (an optimal denoiser), memoised under `key`."""
        return self.memo(("oracle", *key, n, seed, tuple(sorted(sampler_kwargs.items()))),
                         lambda: self.draw(model, data_shape, n, None, seed, **sampler_kwargs))

    def draw(self, model, data_shape, n: int, omega=None, seed: int = 0, **sampler_kwargs) -> torch.Tensor:
        """Samples (n, *data_shape) of any denoiser, seeds seed ... seed + n - 1, on the CPU (not memoised)."""
        if n < 1:
            raise ValueError(f"number of samples must be >= 1, got {n}")
        device = model.device
        if omega is not None:
            omega = omega.to(device)
        with torch.no_grad():
            x = sample(model, tuple(data_shape), range(seed, seed + n), device=device, omega=omega, **sampler_kwargs)
        return x.float().cpu()

    def memo(self, key: tuple, compute):
        """compute() once per key (least recently used entries beyond `max_samples` are dropped)."""
        with self._lock:
            if key in self._samples:
                self._samples.move_to_end(key)
                return self._samples[key]
        value = compute()
        with self._lock:
            self._samples[key] = value
            while len(self._samples) > self.max_samples:
                self._samples.popitem(last=False)
        return value


_STORES: dict = {}
_STORES_GUARD = threading.Lock()


def get_store(root=None, device: str = "cpu") -> RunStore:
    """The process-wide store of a folder (widgets and cells of one notebook share their runs and samples)."""
    path = default_root(root).resolve()
    with _STORES_GUARD:
        if (path, device) not in _STORES:
            _STORES[(path, device)] = RunStore(path, device)
        return _STORES[(path, device)]


class BackgroundTrainer:
    """Trains jobs (lists of configs) in one daemon thread; a new request replaces one still waiting, so
    dragging a slider across many settings trains only the one it stops at (after the current job).

    submit(configs, on_progress, on_done): on_progress(done_steps, total_steps, label) while training,
    on_done(runs or None, error or None) when the job ends (both called from the worker thread)."""

    def __init__(self, store: RunStore):
        self.store = store
        self._cond = threading.Condition()
        self._pending = None
        self._thread: threading.Thread | None = None
        self.current = None  # the job being trained

    def submit(self, configs, on_progress=None, on_done=None) -> None:
        with self._cond:
            self._pending = (list(configs), on_progress, on_done)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="scoreaug-widget-trainer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._pending is None:
                    self._thread = None
                    self._cond.notify_all()
                    return
                job, self._pending = self._pending, None
                self.current = job
            runs, error = train_job(self.store, job[0], job[1]), None
            if isinstance(runs, Exception):
                runs, error = None, runs
            with self._cond:
                self.current = None
            if job[2] is not None:
                job[2](runs, error)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job is running or waiting; False if `timeout` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and self.current is None
                                       and self._thread is None, timeout)


def train_job(store: RunStore, configs, on_progress=None):
    """Get (train where needed) every config of a job in turn; the runs, or the exception that stopped it."""
    total = sum(c.steps for c in configs)
    done = 0
    runs = []
    try:
        for i, config in enumerate(configs):
            label = f"{config.variant}, n={config.n_train} ({i + 1}/{len(configs)})"

            def progress(step, steps, _done=done, _label=label):
                if on_progress is not None:
                    on_progress(_done + step, total, _label)

            runs.append(store.get(config, progress))
            done += config.steps
        return runs
    except Exception as err:  # reported to the caller (a widget shows it)
        return err


__all__ = ["RunStore", "StoredRun", "BackgroundTrainer", "config_key", "default_root", "get_store", "list_runs",
           "train_job", "ENV_RUNS"]
