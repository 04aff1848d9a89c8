"""Training for widgets: a daemon thread that trains the latest request through the run store, so that a
notebook stays usable while a slider's setting trains."""
from __future__ import annotations

import threading

from .store import RunStore


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


__all__ = ["BackgroundTrainer", "train_job"]
