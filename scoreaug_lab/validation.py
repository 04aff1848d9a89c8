"""Checks for values where they enter the toolkit: one clear ValueError that names the argument, instead of a
NaN or a traceback later. Used by TrainConfig, the samplers, the transforms, the data loaders and the CLI."""
from __future__ import annotations

import math
from pathlib import Path

import torch

SEED_MAX = 2**32 - 1     # torch's CPU generator (mt19937) reads 32 bits of a seed: larger seeds would alias


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
    if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, float) and value.is_integer()):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return value


def seed(name: str, value) -> int:
    """A seed in [0, 2^32 - 1]: the generator reads 32 bits, so 0 and 2^32 would give the same run."""
    return integer(name, value, 0, SEED_MAX)


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


__all__ = ["folder_path", "SEED_MAX", "number", "integer", "seed", "finite_tensor", "noise_levels", "batch"]
