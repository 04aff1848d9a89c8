"""The run store: runs keyed by their configuration, trained once into a shared folder and loaded from it
afterwards, run folders written by `scoreaug-lab train`, and the samples drawn from either (memoised, so
revisiting a setting is instant). Notebooks, widgets, benchmarks and `scoreaug-lab prepare` share it.

    store = get_store()                       # folder: argument, else $SCOREAUG_RUNS, else runs/store
    run = store.get(TrainConfig(...), progress=lambda step, total: ...)   # trains once, then loads
    x = store.samples(run, n=500)             # omega = 0; memoised per (run, n, omega, sampler options)

    runs = store.get_many({"a": config_a, "b": config_b})   # missing runs train in parallel processes

A cached run lives in <root>/<data>_<variant>_n<n_train>_<hash>/ (an ordinary run folder: config.json,
metrics.jsonl, checkpoint.pt), where the hash covers every field of the config except where it is written
and how it is shown (out, progress, device). A run interrupted half-way resumes exactly on the next request.
`get_many` trains the missing runs of a list in worker processes (spawned, one torch thread each, one run
folder each: a run trained in a worker equals one trained by `get` with one thread, bit for bit on the CPU),
with a progress bar and a time estimate. `BackgroundTrainer` trains in a worker thread (latest request wins)
so that a notebook stays usable. `list_runs` finds run folders; `StoredRun` is what a stored run holds.

The store folder is `root`, else $SCOREAUG_RUNS, else runs/store in the project (a source checkout; the
working directory's runs/store otherwise): notebooks, widgets and `scoreaug-lab prepare` meet there.
SCOREAUG_FORBID_TRAINING=1 makes every request that would train raise `TrainingForbidden` instead (a check
that a prepared store holds what a notebook needs; the tests and benchmarks/notebook_times.py set it).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import torch

from .checkpoint import check_run_checkpoint, load_checkpoint
from .config import TrainConfig
from .data import data_kind
from .run_folder import CHECKPOINT, METRICS, RunFolderBusy
from .runs import list_runs, load_run, read_metrics  # noqa: F401 (list_runs re-exported)
from .sampling import sample
from .training import train_iter

ENV_RUNS = "SCOREAUG_RUNS"
ENV_FORBID = "SCOREAUG_FORBID_TRAINING"
DEFAULT_ROOT = Path("runs") / "store"
KEY_EXCLUDES = ("out", "progress", "device")
BUSY_POLL_S = 1.0        # how often a request waits on a run folder another process is training


def project_root() -> Path | None:
    """The source checkout holding this package (a folder with pyproject.toml), else None (installed copy)."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() and (here / "scoreaug_lab").is_dir() else None


def default_root(root=None) -> Path:
    """The store folder: `root`, else $SCOREAUG_RUNS, else runs/store in the project (a source checkout, so
    that notebooks in notebooks/ and commands run from the project share it), else runs/store in the working
    directory."""
    if root is not None:
        return Path(root)
    if os.environ.get(ENV_RUNS):
        return Path(os.environ[ENV_RUNS])
    project = project_root()
    return project / DEFAULT_ROOT if project is not None else DEFAULT_ROOT


class TrainingForbidden(RuntimeError):
    """A run had to be trained while SCOREAUG_FORBID_TRAINING was set."""


def check_training_allowed(what: str) -> None:
    """Raise TrainingForbidden when $SCOREAUG_FORBID_TRAINING is set (to anything but "" or "0")."""
    if os.environ.get(ENV_FORBID, "").strip() not in ("", "0"):
        raise TrainingForbidden(f"{what} is not in the run store and {ENV_FORBID} is set, so it is not trained "
                                "here (fill the store with `scoreaug-lab prepare`)")


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
        ckpt = check_run_checkpoint(load_checkpoint(folder / CHECKPOINT, map_location="cpu"), folder / CHECKPOINT)
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
            check_training_allowed(f"run {key}")
            folder = self.root / key
            train_config = TrainConfig.from_dict({**config.to_dict(), "out": str(folder), "progress": False,
                                                  "device": self.device})
            every = max(1, config.steps // 100)
            state = None
            while True:
                try:
                    for state in train_iter(train_config, resume=True):
                        if progress is not None and (state.step % every == 0 or state.step == config.steps):
                            progress(state.step, config.steps)
                    break
                except RunFolderBusy:   # another process (a `prepare`, another notebook) is training it
                    time.sleep(BUSY_POLL_S)
            if state is None and not (folder / CHECKPOINT).is_file():
                raise RuntimeError(f"training {key} produced no checkpoint")
            return self._remember(key, self.load(folder, key=key))

    def folder(self, config: TrainConfig) -> Path:
        """The run folder of `config` in this store (whether or not it exists yet)."""
        return self.root / config_key(config)

    def get_many(self, configs, workers: int | None = None, progress=True, desc: str = "training"):
        """The runs of many configs (a list, or a dict whose values are configs: the result has the same shape).
        Finished runs load; the missing ones (each once, however often it is listed) train in `workers` spawned
        processes of one torch thread each (default: one per core, at most one per run; on a GPU, or with one
        run to train, in this process), each into its own folder of the store, resuming partial runs.

        progress: True (a tqdm bar over the runs' estimated cost, with the steps done and the time left),
        False, or a callable progress(done_steps, total_steps, label). A worker's failure stops the others
        (their last steps are checkpointed) and is raised naming the run; a rerun resumes."""
        named = isinstance(configs, dict)
        items = list(configs.items()) if named else list(enumerate(configs))
        todo: dict[str, TrainConfig] = {}
        found: dict[str, StoredRun] = {}
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
        workers = resolve_workers(workers, len(todo), self.device)
        meter = _Progress(self.root, todo, progress, desc, workers)
        try:
            if workers <= 1:
                for key, config in todo.items():
                    meter.start(key)
                    self.get(config, lambda step, steps, key=key: meter.update({key: step}))
                    meter.finish(key)
            else:
                self._train_in_workers(todo, workers, meter)
        finally:
            meter.close()

    def _train_in_workers(self, todo: dict, workers: int, meter: "_Progress") -> None:
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker)
        futures = {pool.submit(_train_worker, config.to_dict(), str(self.root / key), self.device): key
                   for key, config in todo.items()}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                meter.poll([futures[f] for f in pending])
                for future in done:
                    key = futures[future]
                    try:
                        future.result()
                    except Exception as err:  # noqa: BLE001 - named and re-raised below
                        message = str(err).splitlines()[0] if str(err) else type(err).__name__
                        raise RuntimeError(f"training {key} failed in a worker process: {message} (what finished "
                                           "is kept; ask again to resume)") from err
                    meter.finish(key)
        except BaseException:
            # stop the others at a step boundary (training checkpoints the last completed step on Ctrl-C)
            for future in futures:
                future.cancel()
            for process in list(getattr(pool, "_processes", {}).values()):
                if process.is_alive():
                    try:
                        os.kill(process.pid, signal.SIGINT)
                    except OSError:
                        pass
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

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


def resolve_workers(workers: int | None, n_runs: int, device: str = "cpu") -> int:
    """Worker processes for `n_runs` runs: `workers`, else one per core; never more than runs; 1 on a GPU."""
    if str(device).startswith("cuda"):
        return 1
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return max(1, min(int(workers or os.cpu_count() or 1), n_runs))


def estimated_seconds(config: TrainConfig) -> float:
    """A rough duration of one run on one core of the project's 2-core CPU (the progress bar's weights and the
    time estimates of `prepare`; calibrated on the walkthrough's recipes, good to a factor of about 1.5)."""
    batch = config.batch_size
    if data_kind(config.data) == "points":
        width = int(config.model_kwargs.get("width", 128))
        step = 1.2e-3 + 2.2e-5 * batch * (width / 128) ** 2
        evals = 3e-3 * (1 + width / 64)
    else:
        side = 32 if config.data.startswith("cifar") else 16
        channels = 3 if config.data.startswith("cifar") else 1
        width = int(config.model_kwargs.get("model_channels", 32))
        pixels = side * side * (1 + 0.1 * channels)
        step = 4e-3 + 1.9e-5 * batch * pixels / 256 * (width / 16) ** 1.5 * (1.5 if side == 32 else 1.0)
        evals = 0.5 * pixels / 256 * (width / 16) ** 1.5
    n_evals = config.steps // config.eval_every if config.eval_every else 0
    return 1.0 + config.steps * step + n_evals * evals


def _logged_step(folder: Path) -> int:
    """The last step logged in a run folder's metrics.jsonl (its tail only), 0 when none."""
    path = folder / METRICS
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            lines = f.read().decode(errors="ignore").splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line).get("step", 0))
        except (ValueError, AttributeError):
            continue
    return 0


class _Progress:
    """Progress of a batch of runs: steps done per run (polled from the run folders' metric lines when they
    train in other processes), shown as a tqdm bar weighted by estimated cost, or passed to a callable."""

    def __init__(self, root: Path, todo: dict, progress, desc: str, workers: int):
        self.root, self.todo, self.callback = root, todo, progress if callable(progress) else None
        self.steps = {key: min(_logged_step(root / key), c.steps) for key, c in todo.items()}
        self.cost = {key: estimated_seconds(c) for key, c in todo.items()}
        self.total_steps = sum(c.steps for c in todo.values())
        self.finished = 0
        self.bar = None
        if progress is True:
            from tqdm.auto import tqdm
            total = sum(self.cost.values())
            print(f"{desc}: {len(todo)} run(s), {self.total_steps:,} steps, {workers} worker process(es); "
                  f"estimated {total / workers / 60:.1f} min on a 2-core CPU", flush=True)
            self.desc = desc
            self.bar = tqdm(total=round(total, 1), desc=desc, dynamic_ncols=True,
                            bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed} elapsed, {remaining} left]")
            self._show()

    def _done_cost(self) -> float:
        return sum(self.cost[k] * self.steps[k] / max(self.todo[k].steps, 1) for k in self.todo)

    def _show(self) -> None:
        done_steps = sum(self.steps.values())
        if self.bar is not None:
            self.bar.n = round(min(self._done_cost(), self.bar.total), 1)
            self.bar.set_description_str(f"{self.desc}: {self.finished}/{len(self.todo)} runs, "
                                         f"{done_steps:,}/{self.total_steps:,} steps", refresh=False)
            self.bar.refresh()
        if self.callback is not None:
            self.callback(done_steps, self.total_steps, f"{self.finished}/{len(self.todo)} runs")

    def start(self, key: str) -> None:
        self.steps[key] = min(_logged_step(self.root / key), self.todo[key].steps)
        self._show()

    def update(self, steps: dict) -> None:
        changed = False
        for key, step in steps.items():
            step = min(int(step), self.todo[key].steps)
            if step != self.steps[key]:
                self.steps[key], changed = step, True
        if changed:
            self._show()

    def poll(self, keys) -> None:
        self.update({key: _logged_step(self.root / key) for key in keys})

    def finish(self, key: str) -> None:
        self.steps[key] = self.todo[key].steps
        self.finished += 1
        self._show()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _init_worker() -> None:
    """One torch thread per worker process: the workers share the cores."""
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


def _train_worker(config: dict, folder: str, device: str) -> int:
    """Train (or resume) one run into `folder` (in a worker process); waits while another process holds it."""
    from .training import train
    config = TrainConfig.from_dict({**config, "out": folder, "progress": False, "device": device})
    while True:
        try:
            train(config, resume=True)
            return config.steps
        except RunFolderBusy:
            time.sleep(BUSY_POLL_S)


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


__all__ = ["RunStore", "StoredRun", "BackgroundTrainer", "TrainingForbidden", "check_training_allowed", "config_key",
           "default_root", "estimated_seconds", "get_store", "list_runs", "project_root", "resolve_workers", "train_job",
           "ENV_RUNS", "ENV_FORBID"]
