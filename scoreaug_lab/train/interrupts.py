"""Ctrl-C at step boundaries: a SIGINT that arrives inside a step is held until the step and its
bookkeeping are done, then raised as KeyboardInterrupt, so a checkpoint never labels step k+1's weights
as step k. Outside the main thread (a widget's background trainer) signals cannot be caught: no-op."""
from __future__ import annotations

import contextlib
import signal
import threading


@contextlib.contextmanager
def step_boundary():
    """Run the block with SIGINT deferred; raise KeyboardInterrupt after it when one arrived."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []

    def hold(signum, frame):
        pending.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    if pending:
        raise KeyboardInterrupt


__all__ = ["step_boundary"]
