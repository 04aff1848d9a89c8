"""The run store: runs keyed by their configuration, trained once into a shared folder and loaded from it
afterwards, run folders written by `scoreaug-lab train`, and the samples drawn from either (memoised, so
revisiting a setting is instant). Notebooks, widgets, benchmarks and `scoreaug-lab prepare` share it.

    store = get_store()                       # folder: argument, else $SCOREAUG_RUNS, else runs/store
    run = store.get(TrainConfig(...), progress=lambda step, total: ...)   # trains once, then loads
    x = store.samples(run, n=500)             # omega = 0; memoised, and saved in the run's folder

    runs = store.get_many({"a": config_a, "b": config_b})   # missing runs train in parallel processes

A cached run lives in <root>/<data>_<variant>_n<n_train>_<hash>/ (an ordinary run folder: config.json,
metrics.jsonl, checkpoint.pt), where the hash covers every field of the config except where it is written
and how it is shown (out, progress, device). A run interrupted half-way resumes exactly on the next request.
`get_many` trains the missing runs of a list in worker processes (spawned, one torch thread each, one run
folder each: a run trained in a worker equals one trained by `get` with one thread, bit for bit on the CPU),
with a progress bar and a time estimate. `background.BackgroundTrainer` trains in a worker thread (latest request wins)
so that a notebook stays usable. `list_runs` finds run folders; `Run` is what a stored run holds.

The store folder is `root`, else $SCOREAUG_RUNS, else runs/store in the project (a source checkout; the
working directory's runs/store otherwise): notebooks, widgets and `scoreaug-lab prepare` meet there.
SCOREAUG_FORBID_TRAINING=1 makes every request that would train raise `TrainingForbidden` instead (a check
that a prepared store holds what a notebook needs; the tests and benchmarks/notebook_times.py set it).
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from pathlib import Path

import torch

from .. import validation as V
from ..sampling import sample
from ..train.config import TrainConfig
from ..train.loop import train_iter
from . import sharing
from .checkpoint import atomic_save, check_run_checkpoint, load_checkpoint
from .folder import CHECKPOINT
from .folder import Run, list_runs, load_run
from .keys import (
    ENV_FORBID, ENV_RUNS, TrainingForbidden, check_training_allowed, config_key, default_root,
    project_root)
from .waiting import while_busy
from .workers import (
    BUSY_POLL_S, ENV_WORKERS, TrainingProgress, available_cpus, estimated_seconds, init_worker, resolve_workers,
    train_in_workers)

SAMPLES_DIR = "samples"  # in a stored run's folder: the samples drawn from it, saved (`RunStore.samples`)
MIN_PARALLEL_SECONDS = 10.0   # get_many trains smaller batches (estimated seconds) in this process


_KEY_LOCKS: dict = {}
_KEY_LOCKS_GUARD = threading.Lock()


def _key_lock(key: str) -> threading.Lock:
    """One lock per run key in this process: two threads never train the same run at once."""
    with _KEY_LOCKS_GUARD:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


def _train_into(config: TrainConfig, progress=None):
    """Train (or resume) `config` into its folder; the last StepState (None if nothing was left to train).
    RunFolderBusy while another process holds the folder."""
    every, state = max(1, config.steps // 100), None
    for state in train_iter(config, resume=True):
        if progress is not None and (state.step % every == 0 or state.step == config.steps):
            progress(state.step, config.steps)
    return state


class RunStore:
    """Trained runs and their samples, in memory and on disk under `root`."""

    def __init__(self, root=None, device: str = "cpu", max_samples: int = 512):
        self.root = default_root(root)
        self.device = device
        self.max_samples = int(max_samples)
        self._runs: dict[str, Run] = {}
        self._samples: OrderedDict = OrderedDict()
        self._lock = threading.RLock()

    # --- runs ------------------------------------------------------------------------------------
    def cached(self, config: TrainConfig) -> Run | None:
        """The run of `config` if it is in memory or finished on disk (then loaded), else None."""
        key = config_key(config)
        with self._lock:
            if key in self._runs:
                return self._runs[key]
        folder = self.root / key
        if not (folder / CHECKPOINT).is_file():
            return None
        ckpt = check_run_checkpoint(load_checkpoint(folder / CHECKPOINT, map_location="cpu"), folder / CHECKPOINT)
        if int(ckpt["step"]) < config.steps:
            return None  # interrupted: `get` resumes it
        sharing.seal(folder)   # a class store: a run another user finished for us becomes read-only to the class
        return self._remember(key, self.load(folder, key=key))

    def get(self, config: TrainConfig, progress=None, say=None) -> Run:
        """The run of `config`: from memory, from disk, or trained now (into its cache folder, resuming a
        partial run). progress(step, total) is called during training (about 100 times). While another process
        trains it (a `prepare`, a notebook, one paused by Ctrl-Z), the request waits, and say(line) (default:
        stderr) names that process's PID and the run at once and every ~30 s (`runs.waiting.while_busy`)."""
        config.validate()
        run = self.cached(config)
        if run is not None:
            return run
        key = config_key(config)
        with _key_lock(key):
            run = self.cached(config)  # another thread may have finished it meanwhile
            if run is not None:
                return run
            check_training_allowed(f"run {key}")
            folder = self.root / key
            train_config = TrainConfig.from_dict({**config.to_dict(), "out": str(folder), "progress": False,
                                                  "device": self.device})
            state = while_busy(lambda: _train_into(train_config, progress), folder, key, say, BUSY_POLL_S)
            if state is None and not (folder / CHECKPOINT).is_file():
                raise RuntimeError(f"training {key} produced no checkpoint")
            return self._remember(key, self.load(folder, key=key))

    def folder(self, config: TrainConfig) -> Path:
        """The run folder of `config` in this store (whether or not it exists yet)."""
        return self.root / config_key(config)

    def get_many(self, configs, workers: int | None = None, progress=True, desc: str = "training"):
        """The runs of many configs (a list, or a dict whose values are configs: the result has the same shape).
        Finished runs load; the missing ones (each once, however often it is listed) train in `workers` spawned
        processes of one torch thread each (default: one per core, at most one per run; on a GPU, with one run,
        or when the whole batch is estimated under MIN_PARALLEL_SECONDS, in this process, also with one thread),
        each into its own folder of the store, resuming partial runs.

        progress: True (a tqdm bar over the runs' estimated cost, with the steps done and the time left),
        False, or a callable progress(done_steps, total_steps, label). A worker's failure stops the others
        (their last steps are checkpointed) and is raised naming the run; a rerun resumes."""
        named = isinstance(configs, dict)
        items = list(configs.items()) if named else list(enumerate(configs))
        todo: dict[str, TrainConfig] = {}
        found: dict[str, Run] = {}
        for _, config in items:
            config.validate()
            key = config_key(config)
            if key in found or key in todo:
                continue
            run = self.cached(config)
            if run is None:
                todo[key] = config
            else:
                found[key] = run
        if todo:
            check_training_allowed(f"{len(todo)} run(s) ({', '.join(list(todo)[:3])}{', ...' if len(todo) > 3 else ''})")
            self._train_missing(todo, workers, progress, desc)
            for key, config in todo.items():
                run = self.cached(config)
                if run is None:
                    raise RuntimeError(f"training {key} did not finish (no checkpoint at step {config.steps})")
                found[key] = run
        runs = {name: found[config_key(config)] for name, config in items}
        return runs if named else [runs[i] for i in range(len(items))]

    def pending(self, configs) -> list[TrainConfig]:
        """The configs of `configs` (list or dict values) whose runs are not finished in this store, each once."""
        configs = list(configs.values()) if isinstance(configs, dict) else list(configs)
        todo = {}
        for config in configs:
            key = config_key(config)
            if key not in todo and not self.finished(config):
                todo[key] = config
        return list(todo.values())

    def finished(self, config: TrainConfig) -> bool:
        """Whether the run of `config` is finished (in memory, or a checkpoint at its last step on disk)."""
        key = config_key(config)
        with self._lock:
            if key in self._runs:
                return True
        path = self.root / key / CHECKPOINT
        if not path.is_file():
            return False
        return int(check_run_checkpoint(load_checkpoint(path, map_location="cpu"), path)["step"]) >= config.steps

    def _train_missing(self, todo: dict, workers, progress, desc: str) -> None:
        if workers is None and sum(estimated_seconds(c) for c in todo.values()) < MIN_PARALLEL_SECONDS:
            workers = 1      # starting worker processes would take longer than the training
        workers = resolve_workers(workers, len(todo), self.device)
        meter = TrainingProgress(self.root, todo, progress, desc, workers)
        try:
            if workers <= 1:
                self._train_here(todo, meter)
            else:
                train_in_workers(self.root, todo, workers, meter, self.device)
        finally:
            meter.close()

    def _train_here(self, todo: dict, meter: "TrainingProgress") -> None:
        """Train one run after the other in this process, with one torch thread as a worker has (so that a run
        is the same, bit for bit on the CPU, however `get_many` trained it)."""
        threads = torch.get_num_threads()
        if self.device == "cpu":
            torch.set_num_threads(1)
        try:
            for key, config in todo.items():
                meter.start(key)
                self.get(config, lambda step, steps, key=key: meter.update({key: step}))
                meter.finish(key)
        finally:
            torch.set_num_threads(threads)

    def load(self, run_dir, key: str | None = None) -> Run:
        """Any run folder written by `scoreaug-lab train` (memoised by folder and checkpoint time)."""
        run_dir = Path(run_dir)
        stamp = (run_dir / CHECKPOINT).stat().st_mtime_ns if (run_dir / CHECKPOINT).is_file() else 0
        memo = key or f"dir:{run_dir.resolve()}:{stamp}"
        with self._lock:
            if memo in self._runs:
                return self._runs[memo]
        return self._remember(memo, load_run(run_dir, device=self.device, key=memo))

    def _remember(self, key: str, run: Run) -> Run:
        with self._lock:
            return self._runs.setdefault(key, run)

    # --- samples ---------------------------------------------------------------------------------
    def samples(self, run: Run, n: int, omega: torch.Tensor | None = None, tag: str = "",
                seed: int = 0, **sampler_kwargs) -> torch.Tensor:
        """Samples (n, *data_shape) of the run's model, one per seed (seed, ..., seed + n - 1), with `omega`
        (None: the identity) given to every sample; memoised under (run, n, seed, tag, options). `tag` must
        name the omega (e.g. "scale:0.35") when one is given."""
        if omega is not None and not tag:
            raise ValueError("samples with an omega need a tag naming it (the memo key)")
        n, seed = sample_count(n, seed, run.data.data_shape)
        return self.memo((run.key, "samples", n, seed, tag, tuple(sorted(sampler_kwargs.items()))),
                         lambda: self._saved_samples(run, n, omega, tag, seed, sampler_kwargs))

    def _saved_samples(self, run: Run, n: int, omega, tag: str, seed: int, sampler_kwargs: dict):
        """The samples a previous request (or `prepare`) saved in the run's store folder, else drawn now and
        saved there (runs of this store only; a read-only store keeps them in memory)."""
        path = self.samples_path(run, n, tag, seed, **sampler_kwargs)
        if path is not None and path.is_file():
            try:
                saved = torch.load(path, map_location="cpu", weights_only=True)
                if (isinstance(saved, torch.Tensor) and tuple(saved.shape) == (n, *run.data.data_shape)
                        and saved.is_floating_point() and torch.isfinite(saved).all()):
                    return saved
            except Exception:   # noqa: BLE001 - whatever makes it unreadable (a truncated zip, a foreign pickle)
                pass   # unreadable or not finite samples: drawn again below
        samples = self._draw(run.model, run.data.data_shape, n, omega, seed, **sampler_kwargs)
        if path is not None:
            try:
                atomic_save(samples, path)
            except OSError:
                pass
        return samples

    def samples_path(self, run: Run, n: int, tag: str = "", seed: int = 0, **sampler_kwargs) -> Path | None:
        """Where `samples(run, n, ...)` are saved: <run folder>/samples/<n>_<hash>.pt for a run of this store
        (the hash covers the seeds, the omega tag, the sampler options, the checkpoint step and the device
        type), None for other runs."""
        if run.run_dir is None or run.run_dir.resolve().parent != self.root.resolve():
            return None
        spec = json.dumps({"n": n, "seed": seed, "tag": tag, "options": sorted(sampler_kwargs.items()),
                           "step": run.step, "device": run.model.device.type}, default=str)
        return run.run_dir / SAMPLES_DIR / f"{n}_{hashlib.sha1(spec.encode()).hexdigest()[:12]}.pt"

    def oracle_samples(self, key: tuple, model, data_shape, n: int, seed: int = 0, **sampler_kwargs):
        """Samples of a model that is not a run (an optimal denoiser), memoised under `key`."""
        n, seed = sample_count(n, seed, data_shape)
        return self.memo(("oracle", *key, n, seed, tuple(sorted(sampler_kwargs.items()))),
                         lambda: self._draw(model, data_shape, n, None, seed, **sampler_kwargs))

    def _draw(self, model, data_shape, n: int, omega=None, seed: int = 0, **sampler_kwargs) -> torch.Tensor:
        """Samples (n, *data_shape) of any denoiser, seeds seed ... seed + n - 1, on the CPU (not memoised)."""
        n, seed = sample_count(n, seed, data_shape)
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


def sample_count(n, seed, data_shape) -> tuple[int, int]:
    """(n, seed) of a request for n samples from seeds seed ... seed + n - 1, checked before anything is drawn:
    whole numbers, n within MAX_SEEDS and MAX_BYTES (float32 samples of data_shape), every seed a 32-bit seed."""
    seed = V.seed("seed", seed)
    n = V.count("n", n, 4 * math.prod(data_shape))
    if n > V.MAX_SEEDS:
        raise ValueError(f"n = {n:,} is more than the limit of {V.MAX_SEEDS:,} seeds; sample in parts")
    V.seed("the last seed (seed + n - 1)", seed + n - 1)
    return n, seed


_STORES: dict = {}
_STORES_GUARD = threading.Lock()


def get_store(root=None, device: str = "cpu") -> RunStore:
    """The process-wide store of a folder (widgets and cells of one notebook share their runs and samples)."""
    path = default_root(root).resolve()
    with _STORES_GUARD:
        if (path, device) not in _STORES:
            _STORES[(path, device)] = RunStore(path, device)
        return _STORES[(path, device)]


__all__ = ["RunStore", "Run", "TrainingForbidden", "check_training_allowed", "config_key", "default_root",
           "estimated_seconds", "get_store", "list_runs", "project_root", "resolve_workers", "available_cpus",
           "init_worker", "ENV_RUNS", "ENV_FORBID", "ENV_WORKERS"]
