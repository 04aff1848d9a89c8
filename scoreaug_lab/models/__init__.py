"""Denoisers, all called as model(x, sigma, omega=None, labels=None) -> denoised x0 estimate.

`build_model(name, data_shape, ...)` builds one by name; `MODELS` lists the names.
"""
from __future__ import annotations

from functools import partial

from .base import EDMDenoiser
from .dit import DIT_CONFIGS, DiTDenoiser, build_dit
from .embedding import drop_labels, labels_to_onehot
from .mlp import MLPDenoiser
from .unet import UNET_CONFIGS, UNetDenoiser, build_unet


def _mlp(data_shape, **kw):
    if len(data_shape) != 1:
        raise ValueError(f"model 'mlp' is for points (shape (d,)), got data shape {tuple(data_shape)}")
    return MLPDenoiser(dim=data_shape[0], **kw)


MODELS = {"mlp": _mlp}
# Images (C, H, W): "unet-tiny", "unet-small", "unet-ddpmpp" (56 M, EDM's CIFAR-10), "dit-tiny", "dit-s".
MODELS.update({name: partial(build_unet, name) for name in UNET_CONFIGS})
MODELS.update({name: partial(build_dit, name) for name in DIT_CONFIGS})


def build_model(name: str, data_shape, **kwargs) -> EDMDenoiser:
    """Build a denoiser by name for data of shape `data_shape` (without the batch dimension)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    try:
        return MODELS[name](tuple(data_shape), **kwargs)
    except (TypeError, RuntimeError, ZeroDivisionError) as err:  # unknown keys, negative or zero sizes
        raise ValueError(f"bad options for model {name!r}: {str(err).splitlines()[0][:200]}") from None


__all__ = ["EDMDenoiser", "MLPDenoiser", "UNetDenoiser", "DiTDenoiser", "MODELS", "build_model",
           "drop_labels", "labels_to_onehot"]
