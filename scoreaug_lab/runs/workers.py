"""Training runs in worker processes: how many (the cores this process may use, $SCOREAUG_WORKERS), what a
batch of runs will cost (the progress bar's time estimate), the progress of runs training elsewhere (read from
their run folders' metric logs), and the worker process itself (one torch thread; it stops, checkpointed, when
its parent dies), and the one pool of such processes that everything parallel in the toolkit runs in."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

import torch

from ..data import data_kind
from ..train.config import TrainConfig
from .folder import METRICS

ENV_WORKERS = "SCOREAUG_WORKERS"      # default number of training processes (e.g. 1 per user on a JupyterHub)
BUSY_POLL_S = 1.0        # how often a request waits on a run folder another process is training


def available_cpus() -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a container, a
    JupyterHub user's limit), at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def resolve_workers(workers: int | None, n_runs: int, device: str = "cpu") -> int:
    """Worker processes for `n_runs` runs: `workers`, else $SCOREAUG_WORKERS, else one per available core; never
    more than runs; 1 on a GPU."""
    if str(device).startswith("cuda"):
        return 1
    if workers is None and os.environ.get(ENV_WORKERS, "").strip():
        try:
            workers = int(os.environ[ENV_WORKERS])
        except ValueError:
            raise ValueError(f"${ENV_WORKERS} must be a whole number of worker processes (>= 1), got "
                             f"{os.environ[ENV_WORKERS]!r}") from None
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return max(1, min(int(workers or available_cpus()), n_runs))


def estimated_seconds(config: TrainConfig) -> float:
    """A rough duration of one run on one core of the project's 2-core CPU (the progress bar's weights and the
    time estimates of `prepare`; calibrated on the walkthrough's recipes, good to a factor of about 1.5)."""
    batch = config.batch_size
    if data_kind(config.data) == "points":
        width = int(config.model_kwargs.get("width", 128))
        step = 1.2e-3 + 2.2e-5 * batch * (width / 128) ** 2
        evals = 3e-3 * (1 + width / 64)
    else:   # a U-Net step on one core: ~30 ms of per-layer overhead plus ~8.5 us per pixel of the batch, at 16
        # base channels (8x8 digits, batch 32: ~45 ms; CIFAR-10, batch 32: ~310 ms), about linear in the width
        head, _, option = config.data.partition(":")
        side = 32 if head == "cifar10" else int(option) if head == "digits" and option.isdigit() else 16
        width = int(config.model_kwargs.get("model_channels", 32))
        per_image = 8.5e-6 * side * side
        step = (30e-3 + per_image * batch) * (width / 16) ** 1.1
        evals = (1.0 + 2560 * per_image / 3) * (width / 16) ** 1.1   # 256 probes x 5 bands x 2 sets, forward only
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


class TrainingProgress:
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


def init_worker() -> None:
    """A training worker process: one torch thread (the workers share the cores); if its parent dies (a killed
    `prepare`, a restarted kernel) it interrupts itself, which checkpoints the last completed step, and exits."""
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(60.0)
        os._exit(1)

    threading.Thread(target=watch_parent, name="scoreaug-parent-watch", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # idle: a Ctrl-C is the parent's to report (`run_job`)


def run_job(function, *args):
    """One job in a worker process: a SIGINT (Ctrl-C, or the pool stopping it) interrupts the job only, which
    checkpoints a training at its last completed step; between jobs the worker ignores it, printing nothing."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return function(*args)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def train_worker(config: dict, folder: str, device: str) -> int:
    """Train (or resume) one run into `folder` (in a worker process); while another process holds it, waits and
    says so on stderr (the holder's PID and the run, at once and every ~30 s: `waiting.while_busy`)."""
    from ..train.loop import train
    from .waiting import while_busy
    config = TrainConfig.from_dict({**config, "out": folder, "progress": False, "device": device})
    while_busy(lambda: train(config, resume=True), folder, Path(folder).name, poll=BUSY_POLL_S)
    return config.steps


# a killed worker leaves its queue's semaphore behind: the tracker's warning would follow the one error line
QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


class JobFailed(RuntimeError):
    """A job of a worker pool failed (what finished is kept). exit_code: 2 when the job failed on its input (a
    ValueError, TypeError or FileNotFoundError in the worker), 1 when on the machine (a full disk, a killed worker)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code

    def __reduce__(self):
        return type(self), (str(self), self.exit_code)


def input_fault(err: BaseException) -> bool:
    """Whether a job's error is about its input (exit code 2) rather than the machine (1)."""
    if isinstance(err, JobFailed):
        return err.exit_code == 2
    return isinstance(err, (ValueError, TypeError, FileNotFoundError))


class WorkerPool:
    """The toolkit's one process pool: `workers` spawned processes of one torch thread each (`init_worker`), jobs
    submitted by name and collected as they finish. Training runs (`RunStore.get_many`), command lines
    (`cli.runner.run_commands`), the demo and the reproduction all run through it. On any failure or interrupt the
    jobs not started are cancelled and the running ones get a SIGINT, which stops a training at its next step
    boundary with that step checkpointed.

        with WorkerPool(2) as pool:
            pool.submit("a", train_worker, config, folder, "cpu")
            for name, result in pool.results(poll=lambda running: ...):   # as they finish
                ...
    """

    def __init__(self, workers: int):
        self.workers = workers
        if QUIET_TRACKER not in sys.warnoptions:     # passed on to the resource tracker when it starts
            sys.warnoptions.append(QUIET_TRACKER)
        self._pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=init_worker)
        self._running: dict = {}                 # future -> job name

    def __enter__(self) -> "WorkerPool":
        return self

    def submit(self, name, function, *args) -> None:
        self._running[self._pool.submit(run_job, function, *args)] = name

    @property
    def running(self) -> list:
        return list(self._running.values())

    def results(self, poll=None, every: float = 0.5):
        """Yield (name, result) as jobs finish (more may be submitted meanwhile); `poll(running names)` is called
        every `every` seconds; a failed job raises JobFailed naming it."""
        while self._running:
            done, _ = wait(self._running, timeout=every if poll else None, return_when=FIRST_COMPLETED)
            if poll is not None:
                poll([n for f, n in self._running.items() if f not in done])
            for future in done:
                name = self._running.pop(future)
                try:
                    result = future.result()
                except Exception as err:  # noqa: BLE001 - named and re-raised
                    message = str(err).splitlines()[0] if str(err) else type(err).__name__
                    job = " job ".join(map(str, name)) if isinstance(name, tuple) else str(name)
                    raise JobFailed(f"{job} failed in a worker process: {message} (what finished is kept; "
                                    "ask again to resume)", 2 if input_fault(err) else 1) from err
                yield name, result

    def __exit__(self, kind, error, traceback) -> None:
        if error is not None:
            for future in self._running:
                future.cancel()
            if not isinstance(error, KeyboardInterrupt):     # a Ctrl-C reaches the workers too (one group)
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    if process.is_alive():
                        try:
                            os.kill(process.pid, signal.SIGINT)
                        except OSError:
                            pass
        self._pool.shutdown(wait=True, cancel_futures=True)


def train_in_workers(root: Path, todo: dict, workers: int, meter: TrainingProgress, device: str = "cpu") -> None:
    """Train each config of `todo` ({key: config}) into root/<key> in `workers` processes; the first failure stops
    the others at a step boundary (what finished is kept) and is raised, naming the run."""
    with WorkerPool(workers) as pool:
        for key, config in todo.items():
            pool.submit(key, train_worker, config.to_dict(), str(root / key), device)
        for key, _ in pool.results(poll=meter.poll):
            meter.finish(key)


__all__ = ["available_cpus", "resolve_workers", "estimated_seconds", "TrainingProgress", "init_worker",
           "train_worker", "train_in_workers", "JobFailed", "input_fault", "run_job", "WorkerPool", "ENV_WORKERS",
           "BUSY_POLL_S"]
