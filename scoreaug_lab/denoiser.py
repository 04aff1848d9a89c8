"""The one calling convention of every denoiser in the toolkit, networks and oracles alike:

    model(x, sigma, omega=None, labels=None) -> estimate of x0, the same shape as x

x (B, ...) noisy inputs, sigma a scalar or (B,) noise levels, omega (B, omega_dim) the transform code
(None or zeros: the identity), labels (B,) class indices or (B, K) one-hot rows. Every denoiser also says
what it reads and where it lives (`Denoiser`); a plain function becomes one with `as_denoiser`.
"""
from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import torch

from .diffusion import SIGMA_DATA


@runtime_checkable
class Denoiser(Protocol):
    """What tests, samplers, metrics, notebooks and widgets may rely on."""

    omega_dim: int          # size of the omega input (0: not conditioned on the transform)
    label_dim: int          # number of classes (0: unconditional)
    sigma_data: float       # the data standard deviation its preconditioning assumes
    device: torch.device    # where its inputs must live

    def __call__(self, x: torch.Tensor, sigma, omega: torch.Tensor | None = None,
                 labels: torch.Tensor | None = None) -> torch.Tensor: ...


class FunctionDenoiser:
    """A plain function fn(x, sigma) (or fn(x, sigma, omega=None, labels=None)) as a `Denoiser`."""

    def __init__(self, fn: Callable, omega_dim: int = 0, label_dim: int = 0, sigma_data: float = SIGMA_DATA,
                 device="cpu", takes_conditions: bool = False):
        self.fn, self.takes_conditions = fn, bool(takes_conditions)
        self.omega_dim, self.label_dim, self.sigma_data = int(omega_dim), int(label_dim), float(sigma_data)
        self.device = torch.device(device)

    def __call__(self, x, sigma, omega=None, labels=None):
        if self.takes_conditions:
            return self.fn(x, sigma, omega=omega, labels=labels)
        return self.fn(x, sigma)

    def __repr__(self) -> str:
        return f"FunctionDenoiser({getattr(self.fn, '__name__', self.fn)!r})"


def as_denoiser(model) -> Denoiser:
    """`model` itself when it follows the protocol, else a plain callable wrapped as an unconditioned
    CPU denoiser (it is called as fn(x, sigma, omega=..., labels=...))."""
    if isinstance(model, Denoiser):
        return model
    if not callable(model):
        raise TypeError(f"a denoiser must be callable as model(x, sigma, omega=None, labels=None), got {model!r}")
    return FunctionDenoiser(model, takes_conditions=True)


__all__ = ["Denoiser", "FunctionDenoiser", "as_denoiser"]
