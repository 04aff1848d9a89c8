"""How the run store finds its runs: the store folder (argument, $SCOREAUG_RUNS, or runs/store in the project), a
run's key (a readable name with a hash of its config), and the SCOREAUG_FORBID_TRAINING switch that turns "train
what is missing" into an error."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..paths import project_root
from ..train.config import TrainConfig, canonical

ENV_RUNS = "SCOREAUG_RUNS"
ENV_FORBID = "SCOREAUG_FORBID_TRAINING"
DEFAULT_ROOT = Path("runs") / "store"
KEY_EXCLUDES = ("out", "progress", "device")


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


def digest(value) -> str:
    """10 hex digits that name `value` (JSON-able), the same for equal values: every cache key of the toolkit."""
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:10]


def config_key(config: TrainConfig) -> str:
    """A readable, stable folder name for a configuration: <data>_<variant>_n<n_train>_<10 hex digits>. The values
    are made canonical first (train.config.canonical): weight_decay=0 and 0.0, or a numpy int and an int, give
    one key."""
    fields = {k: v for k, v in canonical(config.to_dict()).items() if k not in KEY_EXCLUDES}
    data = "".join(c if c.isalnum() else "-" for c in str(fields["data"]))
    return f"{data}_{fields['variant']}_n{fields['n_train']}_{digest(fields)}"


__all__ = ["ENV_RUNS", "ENV_FORBID", "DEFAULT_ROOT", "KEY_EXCLUDES", "project_root", "default_root", "TrainingForbidden",
           "check_training_allowed", "config_key", "digest"]
