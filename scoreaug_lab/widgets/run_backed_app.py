"""What the widgets backed by trained runs share: the run store (`runs.store.get_store`), training on demand
with a progress bar (in a worker thread inside a notebook kernel, `background.BackgroundTrainer`, so the
notebook stays usable; synchronously elsewhere, `background.train_job`), a lock so that an update from the
worker and one from a control never interleave, the refusal of invalid control values (None, NaN, a value
that is not one of the choices: shown in the status line, the control keeps its last valid value), and small
drawing helpers.

    app.wait()     # block until background training is done (scripts, tests, notebook cells that read state)
"""
from __future__ import annotations

import threading

import ipywidgets as W
import numpy as np

from ..runs.background import BackgroundTrainer, train_job
from ..runs.store import config_key, get_store
from .widget_app import WidgetApp


def in_kernel() -> bool:
    """True inside a running IPython kernel (a notebook), False in scripts and tests."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class RunBackedApp(WidgetApp):
    """A WidgetApp whose views come from runs that may have to be trained first (see `ensure`)."""

    def __init__(self, store_dir=None, device: str = "cpu", background: bool | None = None):
        super().__init__()
        self.store = get_store(store_dir, device)
        self.background = in_kernel() if background is None else bool(background)
        self.trainer = BackgroundTrainer(self.store)
        self.progress = W.IntProgress(value=0, min=0, max=1, description="training",
                                      layout=W.Layout(display="none", width="420px"))
        self.note = W.HTML(value="")
        self._lock = threading.RLock()
        self._failed: dict[str, str] = {}   # a failed background job, until the refresh that shows it

    def refresh(self) -> None:
        with self._lock:
            super().refresh()

    # --- runs on demand ---------------------------------------------------------------------------
    def ensure(self, configs):
        """The runs of `configs` (a list of TrainConfig) when all are ready; otherwise train them (with the
        progress bar) and return them (synchronous), or start training in the worker thread and return None
        (background: the view is refreshed when the job ends)."""
        runs = [self.store.cached(c) for c in configs]
        if all(r is not None for r in runs):
            self.state["pending"] = None
            return runs
        keys = [config_key(c) for c in configs]
        failed = {k: self._failed.pop(k) for k in keys if k in self._failed}
        if failed:   # the refresh after a failed background job shows it once; asking again trains again
            key, error = next(iter(failed.items()))
            raise RuntimeError(f"training {key} failed: {error} (ask for it again to retry)")
        self.state["pending"] = keys
        if self.background:
            self._show_progress(0, sum(c.steps for c in configs), "queued")
            self.trainer.submit(configs, self._show_progress, lambda runs, err: self._job_done(keys, err))
            return None
        result = train_job(self.store, configs, self._show_progress)
        self._hide_progress()
        if isinstance(result, Exception):   # shown now, not remembered: asking again trains again
            raise RuntimeError(f"training failed: {type(result).__name__}: {result} (ask for it again to retry)") \
                from result
        self.state["pending"] = None
        return result

    def _show_progress(self, done: int, total: int, label: str) -> None:
        self.progress.max = max(int(total), 1)
        self.progress.value = min(int(done), self.progress.max)
        self.progress.layout.display = ""
        self.note.value = f"<i>training {label}: step {done}/{total}</i>"

    def _hide_progress(self) -> None:
        self.progress.layout.display = "none"
        self.note.value = ""

    def _job_done(self, keys, error) -> None:
        self._hide_progress()
        if error is not None:
            self._failed.update({k: f"{type(error).__name__}: {error}" for k in keys})
        self.refresh()  # shows the new runs, or the failure in the status line

    def wait(self, timeout: float | None = None) -> "RunBackedApp":
        """Block until background training (and the refresh that follows it) is finished."""
        if not self.trainer.wait(timeout):
            raise TimeoutError(f"training still running after {timeout} s")
        with self._lock:  # the worker's refresh has released the lock
            pass
        return self


def axis_range(*point_sets, margin: float = 0.15) -> list[float]:
    """A symmetric square range [-r, r] holding every point of the (N, 2) sets given, plus a margin."""
    r = max((float(np.abs(np.asarray(p)).max()) for p in point_sets if p is not None and len(p)), default=1.0)
    r = r * (1 + margin)
    return [-r, r]
