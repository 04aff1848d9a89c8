"""Waiting for a run folder that another process is training (a `prepare`, another notebook, a paused kernel):
the request says whom it waits for (the holder's PID, as written in the folder's .lock, and the run) when it
starts waiting, then every SAY_EVERY_S seconds while it still waits; it goes on by itself once the folder is
free (the holder finished, resumed and finished, or died).

    run = while_busy(lambda: train_into(folder), folder, key, say=print)   # RunStore.get, a pool's worker

A process stopped by Ctrl-Z or a stopped kernel holds its lock until it resumes or dies, so without these lines
a second request would poll in silence for as long as that lasts.
"""
from __future__ import annotations

import fcntl
import sys
import time
from pathlib import Path

from .folder import LOCK, RunFolderBusy

SAY_EVERY_S = 30.0   # how often a waiting request says again that it still waits


def holder_pid(folder) -> str:
    """The PID written in `folder`'s .lock by the process that holds it ("unknown" if unreadable or empty)."""
    try:
        return (Path(folder) / LOCK).read_text().strip() or "unknown"
    except (OSError, UnicodeDecodeError):
        return "unknown"


def to_stderr(message: str) -> None:
    """The default `say`: one line on stderr (a terminal, and a notebook cell's output)."""
    print(message, file=sys.stderr, flush=True)


def waiting_line(folder, run: str, waited: float) -> str:
    pid = holder_pid(folder)
    since = f" (waited {waited:.0f} s)" if waited >= 1 else ""
    return (f"waiting for run {run}: PID {pid} is training it in {folder}{since}; if that process is paused "
            f"(Ctrl-Z, a stopped kernel), resume it (fg, kill -CONT {pid}) or end it, and this request continues")


def while_busy(attempt, folder, run: str, say=None, poll: float = 1.0):
    """attempt() again every `poll` seconds while it raises RunFolderBusy; return what it returns. `say` (default
    `to_stderr`) gets a line naming the holder's PID and the run at the start and every SAY_EVERY_S seconds
    after."""
    say = to_stderr if say is None else say
    started = said = None
    while True:
        try:
            return attempt()
        except RunFolderBusy:
            started = time.monotonic() if started is None else started
        said = _wait_until_free(folder, run, say, poll, started, said)


def _wait_until_free(folder, run: str, say, poll: float, started: float, said: float | None) -> float:
    """Sleep `poll` seconds at a time until nobody holds `folder`'s lock (a cheap probe: a new attempt builds a
    whole training set-up first), saying so every SAY_EVERY_S; the time of the last line said."""
    while True:
        now = time.monotonic()
        if said is None or now - said >= SAY_EVERY_S:
            say(waiting_line(folder, run, now - started))
            said = now
        time.sleep(poll)
        if not lock_held(folder):
            return said


def lock_held(folder) -> bool:
    """Whether some process holds `folder`'s .lock (probed by taking it and letting it go at once)."""
    try:
        with open(Path(folder) / LOCK, "a") as probe:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:          # no folder any more, or no access: the next attempt says what is wrong
        return False
    return False


__all__ = ["SAY_EVERY_S", "holder_pid", "lock_held", "to_stderr", "waiting_line", "while_busy"]
