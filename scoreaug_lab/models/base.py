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

    def forward(self, x: torch.Tensor, sigma, omega: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x)
        sig = expand_sigma(sigma, x)
        c_skip, c_out, c_in, c_noise = edm_coefficients(sig, self.sigma_data)
        out = self.raw(c_in * x, c_noise.reshape(-1), omega, labels)
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
