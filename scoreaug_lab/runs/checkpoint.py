"""Atomic checkpoints (temporary file + rename) loaded with torch.load(weights_only=True)."""
from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from .sharing import set_new_file_mode


def atomic_save(obj, path) -> None:
    """torch.save to a temporary file in the same folder, then rename over `path` (atomic on POSIX):
    a crash mid-write leaves the previous checkpoint intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        set_new_file_mode(fd, path.parent)   # not tempfile's 0600: readable as any file (sharing.py)
        with os.fdopen(fd, "wb") as f:
            try:
                torch.save(obj, f)
            except RuntimeError as err:     # a full disk: "... unexpected pos ..." from torch's writer
                raise write_failed(err, path) from None
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_failed(err: BaseException, path) -> OSError:
    """torch.save's RuntimeError on a failed write, as the OSError it is (ENOSPC when the disk is full)."""
    first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
    try:
        full = shutil.disk_usage(Path(path).parent).free < (1 << 20)
    except OSError:
        full = False
    if full:
        return OSError(errno.ENOSPC, "No space left on device", str(path))
    return OSError(errno.EIO, f"write failed ({first})", str(path))


def atomic_write_text(text: str, path) -> None:
    """Write `text` to a temporary file, then rename it over `path`: a failed write leaves the previous file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        set_new_file_mode(fd, path.parent)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_json(obj, path) -> None:
    atomic_write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", path)


def load_checkpoint(path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # a truncated or foreign file
        raise ValueError(f"cannot read checkpoint {path}: {err}") from None


TRAINING_KEYS = ("step", "config", "model", "ema", "optimizer", "generator")


def check_run_checkpoint(ckpt, path, keys=TRAINING_KEYS) -> dict:
    """The checkpoint of a run written by `scoreaug-lab train`, or one ValueError saying what is wrong with it
    (another tool's file, a list, a missing entry): checked before anything is loaded from it."""
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path} is not a scoreaug-lab checkpoint (it holds a {type(ckpt).__name__}, not a dict)")
    missing = [k for k in keys if k not in ckpt]
    if missing:
        raise ValueError(f"{path} is not a complete scoreaug-lab checkpoint: missing {', '.join(missing)}")
    if not isinstance(ckpt["config"], dict) or not isinstance(ckpt["step"], int) or ckpt["step"] < 0:
        raise ValueError(f"{path} is not a scoreaug-lab checkpoint: its config or step is malformed")
    if "generator" in keys and not (isinstance(ckpt["generator"], torch.Tensor) and ckpt["generator"].dtype == torch.uint8):
        raise ValueError(f"{path}: its random-generator state is malformed, so the run cannot resume exactly")
    return ckpt


def load_weights(module, state, path, what: str = "model") -> None:
    """module.load_state_dict(state), or one ValueError when the weights belong to another network."""
    try:
        module.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, AttributeError) as err:
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: the {what} weights do not fit this run's network (another model's "
                         f"checkpoint?): {first}") from None
