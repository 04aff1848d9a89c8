"""A residual MLP denoiser for points in R^d (the toy path)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .. import validation as V
from .base import EDMDenoiser
from .embedding import ConditionEmbedding


class ResidualBlock(nn.Module):
    def __init__(self, width: int, emb_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.emb = nn.Linear(emb_dim, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h, emb):
        return h + self.fc2(F.silu(self.fc1(F.silu(self.norm(h))) + self.emb(emb)))


class FourierFeatures(nn.Module):
    """x (B, d) -> [x, sin(2 pi x B), cos(2 pi x B)] with a fixed Gaussian matrix B (d, n) of scale
    `scale`: lets a small MLP represent the sharp functions that memorisation needs."""

    def __init__(self, dim: int, n_features: int, scale: float, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("matrix", torch.randn(dim, n_features, generator=g) * scale)
        self.out_dim = dim + 2 * n_features

    def forward(self, x):
        angles = 2 * torch.pi * x @ self.matrix.to(x.dtype)
        return torch.cat([x, angles.sin(), angles.cos()], dim=1)


class MLPDenoiser(EDMDenoiser):
    """Points (B, dim) -> denoised points (B, dim)."""

    def __init__(self, dim: int = 2, width: int = 128, depth: int = 3, emb_dim: int = 64,
                 fourier_features: int = 64, fourier_scale: float = 2.0,
                 sigma_data: float = 0.5, omega_dim: int = 0, label_dim: int = 0):
        super().__init__(sigma_data, omega_dim, label_dim)
        for name, value, low in (("dim", dim, 1), ("width", width, 1), ("depth", depth, 1), ("emb_dim", emb_dim, 2),
                                 ("fourier_features", fourier_features, 0)):
            V.integer(f"mlp: {name}", value, low, 1 << 16)
        V.number("mlp: fourier_scale", fourier_scale, 0.0, 1e4, low_open=True)
        self.dim = int(dim)
        self.embed = ConditionEmbedding(emb_dim, omega_dim=omega_dim, label_dim=label_dim)
        self.features = FourierFeatures(dim, fourier_features, fourier_scale) if fourier_features else None
        self.inp = nn.Linear(self.features.out_dim if self.features else dim, width)
        self.blocks = nn.ModuleList(ResidualBlock(width, emb_dim) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, dim))

    def check_input(self, x):
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"MLPDenoiser expects points of shape (B, {self.dim}), got {tuple(x.shape)}")

    def raw(self, x_in, c_noise, omega, labels):
        emb = self.embed(c_noise, omega, labels)
        h = self.inp(self.features(x_in) if self.features is not None else x_in)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h)
