"""EDM preconditioning around a raw network; the calling convention is `scoreaug_lab.denoiser.Denoiser`."""
from __future__ import annotations

import torch
from torch import nn

from ..diffusion import SIGMA_DATA, edm_coefficients, expand_sigma


class EDMDenoiser(nn.Module):
    """Wraps a raw network F in EDM's preconditioning: D = c_skip x + c_out F(c_in x; c_noise, omega, labels).

    Subclasses implement `raw(x_in, c_noise, omega, labels)` with x_in (B, ...) and c_noise (B,).
    """

    def __init__(self, sigma_data: float = SIGMA_DATA, omega_dim: int = 0, label_dim: int = 0):
        super().__init__()
        if sigma_data <= 0:
            raise ValueError(f"sigma_data must be > 0, got {sigma_data}")
        self.sigma_data, self.omega_dim, self.label_dim = float(sigma_data), int(omega_dim), int(label_dim)

    def raw(self, x_in, c_noise, omega, labels):  # pragma: no cover - abstract
        raise NotImplementedError

    def check_input(self, x: torch.Tensor) -> None:
        """Override to check the data shape."""

    check_values = True  # the training loop turns it off on its own model: its data were checked once

    def forward(self, x: torch.Tensor, sigma, omega: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x)
        if self.check_values and not torch.compiler.is_compiling():  # a check would break the compiled graph
            _check_values(x, sigma)
        sig = expand_sigma(sigma, x)
        c_skip, c_out, c_in, c_noise = edm_coefficients(sig, self.sigma_data)
        x_in, c_noise = c_in * x, c_noise.reshape(-1)
        weights = next(self.parameters(), None)
        if weights is not None and x.dtype != weights.dtype and not torch.is_autocast_enabled(x.device.type):
            # float16 / float64 inputs: the network runs in its own precision, the skip path in x's
            x_in, c_noise = x_in.to(weights.dtype), c_noise.to(weights.dtype)
            omega = None if omega is None else omega.to(weights.dtype)
        out = self.raw(x_in, c_noise, omega, labels)
        return c_skip * x + c_out * out.to(x.dtype)

    @property
    def device(self) -> torch.device:
        """Where the parameters (and so the inputs) live."""
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _check_values(x: torch.Tensor, sigma) -> None:
    """Clear errors for inputs a denoiser cannot use (one host sync; skipped on the training hot path)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {getattr(x, 'dtype', type(x).__name__)}")
    if x.shape[0] == 0:
        raise ValueError("x is an empty batch")
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or infinite values")
    sigma = torch.as_tensor(sigma)
    if not (torch.isfinite(sigma).all() and (sigma > 0).all()):
        raise ValueError("sigma must be finite and > 0")
