"""Ctrl-C at step boundaries: a SIGINT that arrives inside a step is held until the step and its
bookkeeping are done, then raised as KeyboardInterrupt, so a checkpoint never labels step k+1's weights
as step k; an interrupt raised inside a step by other means is not saved (`save_completed_step`). Outside
the main thread (a widget's background trainer) signals cannot be caught: no-op."""
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


def save_completed_step(folder, trainer, done: int, saved: int, torn: bool) -> None:
    """On the way out of an interrupted run: checkpoint step `done` (the last completed one) if it is newer than
    `saved` and the loss stayed finite. Not when the interrupt came from inside a step (`torn`: an exception from
    an optimiser hook or the step's own code, not a deferred Ctrl-C): the weights may hold step done + 1's update
    and the generators half its draws, so saving them as step `done` would break an exact resume; the last
    checkpoint stays, and the folder says so."""
    if folder is None or done <= saved or int(trainer.bad_step.item()):
        return
    if torn:
        folder.announce(f"stopped inside step {done + 1}: its half-done state is not saved; the run resumes "
                        f"from its checkpoint at step {saved}")
        return
    folder.save(trainer.checkpoint_state(done))


__all__ = ["step_boundary", "save_completed_step"]
