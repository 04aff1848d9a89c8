"""The writing side of a run folder: config.json, metrics.jsonl and checkpoint.pt, kept in agreement.

    folder = RunFolder(out).open()          # takes the folder's lock (a second writer is refused)
    start = folder.restore(...)             # from checkpoint.pt, or 0
    folder.log({...}); folder.save(state)   # metric lines; atomic checkpoints
    folder.close()

Guarantees: one writer at a time (an OS file lock on `.lock`, held for the whole run; the second one is
refused with the holder's PID); after any fault the metric lines and config.json agree with the checkpoint
(resume truncates metrics.jsonl back to the checkpoint's step, dropping a torn last line, and says so);
leftover temporary files of interrupted checkpoint writes are removed.
"""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from .checkpoint import atomic_save, load_checkpoint, save_json

CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
METRICS = "metrics.jsonl"
LOCK = ".lock"


class RunFolderBusy(ValueError):
    """Another process is writing this run folder."""


def check_out_path(out) -> Path:
    """A usable run folder path: not empty, not a file, not under a file."""
    if out is None or str(out).strip() == "":
        raise ValueError("the run folder (--out) must be a non-empty path")
    path = Path(out)
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"run folder {path} cannot be created: {parent} is a file")
    return path


class RunFolder:
    """One run folder, written by one process (rank 0) at a time."""

    def __init__(self, out, announce=print):
        self.path = check_out_path(out)
        self.announce = announce
        self._lock_file = None
        self._log = None

    # --- lock ---------------------------------------------------------------------------------------
    def open(self) -> "RunFolder":
        self.path.mkdir(parents=True, exist_ok=True)
        lock = open(self.path / LOCK, "a+")
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

    def truncate_metrics(self, step: int) -> None:
        """Keep the metric lines of steps <= `step` (a torn or unreadable line is dropped, and said)."""
        path = self.path / METRICS
        if not path.exists():
            return
        keep, dropped, torn = [], 0, 0
        for line in path.read_text().splitlines():
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


__all__ = ["RunFolder", "RunFolderBusy", "check_out_path", "CHECKPOINT", "CONFIG", "METRICS"]
