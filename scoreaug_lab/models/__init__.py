"""Denoisers, all called as model(x, sigma, omega=None, labels=None) -> denoised x0 estimate.

`build_model(name, data_shape, ...)` builds one by name; `MODELS` lists the names.
"""
from __future__ import annotations

from .base import EDMDenoiser
from .mlp import MLPDenoiser


def _mlp(data_shape, **kw):
    if len(data_shape) != 1:
        raise ValueError(f"model 'mlp' is for points (shape (d,)), got data shape {tuple(data_shape)}")
    return MLPDenoiser(dim=data_shape[0], **kw)


MODELS = {"mlp": _mlp}


def build_model(name: str, data_shape, **kwargs) -> EDMDenoiser:
    """Build a denoiser by name for data of shape `data_shape` (without the batch dimension)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    try:
        return MODELS[name](tuple(data_shape), **kwargs)
    except TypeError as err:
        raise ValueError(f"bad options for model {name!r}: {err}") from None


__all__ = ["EDMDenoiser", "MLPDenoiser", "MODELS", "build_model"]
