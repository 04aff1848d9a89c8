"""Checks for values where they enter the toolkit: one clear ValueError that names the argument, instead of a
NaN or a traceback later. Used by TrainConfig, the samplers, the transforms, the data loaders and the CLI."""
from __future__ import annotations

import itertools
import math
import numbers
from pathlib import Path

import torch

SEED_MAX = 2**32 - 1     # torch's CPU generator (mt19937) reads 32 bits of a seed: larger seeds would alias
MAX_BYTES = 4 * 2**30    # what one count may allocate (count x bytes per item): more is a typo, not a plan
MAX_SEEDS = 10_000_000   # a seed list longer than this is a typo (sample in parts)


def number(name: str, value, low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
           high_open: bool = False) -> float:
    """A finite number in [low, high] (open ends where asked), else ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {left}{low:g}, {high:g}{right}, got {value:g}")
    return value


def integer(name: str, value, low: int = 0, high: int | None = None) -> int:
    """A whole number in [low, high], else ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) and not (
            isinstance(value, float) and value.is_integer()):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return value


def seed(name: str, value) -> int:
    """A seed in [0, 2^32 - 1]: the generator reads 32 bits, so 0 and 2^32 would give the same run."""
    return integer(name, value, 0, SEED_MAX)


def count(name: str, value, item_bytes: int, low: int = 1, limit: int = MAX_BYTES) -> int:
    """A whole number >= low of items of `item_bytes` bytes each, refused (before anything is allocated) when
    they would take more than `limit` bytes: ValueError naming `name`, the count and the limit."""
    value = integer(name, value, low)
    if value * max(int(item_bytes), 1) > limit:
        raise ValueError(f"{name} = {value:,} would allocate {value * item_bytes / 2**30:,.1f} GiB, more than the "
                         f"limit of {limit / 2**30:g} GiB ({limit // max(int(item_bytes), 1):,} items); work in parts")
    return value


def seeds(name: str, values, item_bytes: int = 8) -> list[int]:
    """A non-empty list (or range) of seeds as Python ints, at most MAX_SEEDS and MAX_BYTES (len x item_bytes);
    a string, a fraction or a seed out of range is refused naming `name` (never read digit by digit)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a list or range of whole numbers, got {values!r}")
    if not hasattr(values, "__len__"):   # an iterator: read one more than the limit at most
        values = list(itertools.islice(values, MAX_SEEDS + 1))
    if not len(values):
        raise ValueError(f"{name} must hold at least one seed")
    if len(values) > MAX_SEEDS:
        raise ValueError(f"{name} holds {len(values):,} seeds, more than the limit of {MAX_SEEDS:,}; sample in parts")
    count(f"the number of {name}", len(values), item_bytes)
    if isinstance(values, range):   # its ends are checked, not each member
        seed(name, values[0]), seed(name, values[-1])
        return list(values)
    if all(type(s) is int for s in values) and 0 <= min(values) and max(values) <= SEED_MAX:
        return list(values)         # the common case, fast; anything else is checked (and named) one by one
    return [seed(f"{name}[{i}]", plain(s)) for i, s in enumerate(values)]


def plain(value):
    """numpy scalars and 0-d tensors as Python numbers, recursively in dicts, lists and tuples (which keep
    their type); anything else as it is."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    numpy_scalar = type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0
    if numpy_scalar or isinstance(value, torch.Tensor) and value.ndim == 0:
        return value.item()
    return value


def choice(name: str, value, choices):
    """`value` if it is one of `choices`, else ValueError naming `name` and the choices."""
    if not isinstance(value, (str, int, float, tuple)) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def finite_tensor(name: str, value: torch.Tensor) -> torch.Tensor:
    """The tensor, or ValueError naming it when it holds NaN or infinite values (one host sync)."""
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return value


def noise_levels(name: str, sigma) -> torch.Tensor:
    """sigma as a tensor of finite values > 0, else ValueError naming it."""
    sigma = torch.as_tensor(sigma)
    if sigma.numel() == 0:
        raise ValueError(f"{name} is empty")
    if not (torch.isfinite(sigma).all() and (sigma > 0).all()):
        raise ValueError(f"{name} must be finite and > 0")
    return sigma


def batch(name: str, value: torch.Tensor, min_rows: int = 1) -> torch.Tensor:
    """A floating-point batch (B, ...) with at least `min_rows` rows and finite values."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.ndim < 2 or value.shape[0] < min_rows:
        raise ValueError(f"{name} must be a batch (B, ...) of at least {min_rows} row(s), got shape {tuple(value.shape)}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must hold floating-point values, got {value.dtype}")
    return finite_tensor(name, value)


def folder_path(name: str, value) -> Path:
    """A folder that can be created or used: not empty, not a file, not under a file."""
    if value is None or str(value).strip() == "":
        raise ValueError(f"{name} must be a non-empty path")
    path = Path(value)
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"{name} {path} cannot be created: {parent} is a file")
    return path


__all__ = ["folder_path", "SEED_MAX", "MAX_BYTES", "MAX_SEEDS", "number", "integer", "seed", "count", "seeds",
           "plain", "choice", "finite_tensor", "noise_levels", "batch"]
