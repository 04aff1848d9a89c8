"""A small Diffusion Transformer (DiT, Peebles & Xie 2023) with adaLN-Zero conditioning.

Written afresh from the paper's description:

    patchify     conv p x p, stride p: (B, C, H, W) -> (B, N, D) tokens, N = (H/p)(W/p),
                 plus fixed 2-D sine-cosine position embeddings (computed for any grid size)
    blocks       x += gate1 * Attn(LN(x) (1 + scale1) + shift1)
                 x += gate2 * MLP(LN(x) (1 + scale2) + shift2)
                 with (shift, scale, gate) x 2 = Linear(c), zero-initialised ("adaLN-Zero"),
                 c (B, D) the condition embedding (noise level + omega + labels)
    final layer  LN(x) (1 + scale) + shift -> Linear to p*p*C (zero-initialised) -> unpatchify
"""
from __future__ import annotations

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

from .base import EDMDenoiser
from .embedding import ConditionEmbedding


def sincos_position_embedding(grid_h: int, grid_w: int, dim: int, device=None) -> torch.Tensor:
    """(grid_h * grid_w, dim) fixed embedding: half the channels encode the row, half the column,
    each as [sin, cos] at frequencies 1 / 10000^(k / (dim/4)), k = 0 .. dim/4 - 1. Row-major order."""
    quarter = dim // 4
    freqs = 1.0 / 10_000 ** (torch.arange(quarter, dtype=torch.float32, device=device) / quarter)

    def encode(positions):  # (N,) -> (N, dim/2)
        angles = positions[:, None] * freqs[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    rows = torch.arange(grid_h, dtype=torch.float32, device=device).repeat_interleave(grid_w)
    cols = torch.arange(grid_w, dtype=torch.float32, device=device).repeat(grid_h)
    return torch.cat([encode(rows), encode(cols)], dim=1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x (B, N, D), shift and scale (B, 1, D)."""
    return x * (1 + scale) + shift


class DiTBlock(nn.Module):
    """Pre-norm transformer block with adaLN-Zero: (B, N, D), c (B, D) -> (B, N, D)."""

    def __init__(self, hidden: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        mlp_hidden = int(hidden * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(hidden, mlp_hidden), nn.GELU(approximate="tanh"),
                                 nn.Linear(mlp_hidden, hidden))
        self.ada = nn.Linear(hidden, 6 * hidden)  # zero-initialised by DiTDenoiser

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = rearrange(self.qkv(x), "b n (three heads d) -> three b heads n d", three=3, heads=self.num_heads)
        a = F.scaled_dot_product_attention(q, k, v)                     # (B, heads, N, D/heads)
        return self.proj(rearrange(a, "b heads n d -> b n (heads d)"))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(c).to(x.dtype)[:, None].chunk(6, dim=2)
        x = x + gate1 * self.attention(modulate(self.norm1(x), shift1, scale1))
        return x + gate2 * self.mlp(modulate(self.norm2(x), shift2, scale2))


class DiTDenoiser(EDMDenoiser):
    """Images (B, C, H, W) -> denoised images (B, C, H, W); H and W divisible by patch_size."""

    def __init__(self, in_channels: int = 3, img_resolution: int = 32, patch_size: int = 2,
                 hidden: int = 384, depth: int = 12, num_heads: int = 6, mlp_ratio: float = 4.0,
                 noise_channels: int = 256, sigma_data: float = 0.5, omega_dim: int = 0, label_dim: int = 0):
        super().__init__(sigma_data, omega_dim, label_dim)
        if patch_size < 1 or img_resolution % patch_size:
            raise ValueError(f"img_resolution {img_resolution} is not divisible by patch_size {patch_size}")
        if hidden % num_heads or hidden % 4:
            raise ValueError(f"hidden {hidden} must be divisible by 4 and by num_heads {num_heads}")
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.in_channels, self.img_resolution = int(in_channels), int(img_resolution)
        self.patch_size, self.hidden = int(patch_size), int(hidden)
        self.embed = ConditionEmbedding(hidden, noise_channels=noise_channels, omega_dim=omega_dim,
                                        label_dim=label_dim)
        self.patchify = nn.Conv2d(in_channels, hidden, patch_size, stride=patch_size)
        self.blocks = nn.ModuleList(DiTBlock(hidden, num_heads, mlp_ratio) for _ in range(depth))
        self.norm_out = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.ada_out = nn.Linear(hidden, 2 * hidden)
        self.out = nn.Linear(hidden, patch_size * patch_size * in_channels)
        self._init_weights()

    def _init_weights(self):
        for module in self.modules():
            if isinstance(module, nn.Linear) and module not in self.embed.modules():
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.xavier_uniform_(self.patchify.weight.view(self.hidden, -1))
        nn.init.zeros_(self.patchify.bias)
        # adaLN-Zero: every block starts as the identity, and the output as zero.
        for layer in [*(block.ada for block in self.blocks), self.ada_out, self.out]:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"DiTDenoiser expects images (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        if x.shape[2] % self.patch_size or x.shape[3] % self.patch_size:
            raise ValueError(f"DiTDenoiser: image size {tuple(x.shape[2:])} is not divisible by its "
                             f"patch size {self.patch_size}")

    def raw(self, x_in, c_noise, omega, labels):
        p = self.patch_size
        gh, gw = x_in.shape[2] // p, x_in.shape[3] // p
        c = self.embed(c_noise, omega, labels)                          # (B, D)
        tokens = rearrange(self.patchify(x_in), "b d gh gw -> b (gh gw) d")   # (B, N, D), row-major patches
        tokens = tokens + sincos_position_embedding(gh, gw, self.hidden, x_in.device).to(tokens.dtype)
        for block in self.blocks:
            tokens = block(tokens, c)
        shift, scale = self.ada_out(c).to(tokens.dtype)[:, None].chunk(2, dim=2)
        patches = self.out(modulate(self.norm_out(tokens), shift, scale))  # (B, N, p*p*C)
        return rearrange(patches, "b (gh gw) (p1 p2 c) -> b c (gh p1) (gw p2)", gh=gh, gw=gw, p1=p, p2=p)


# Named configurations (registered in models/__init__.py).
DIT_CONFIGS = {
    # about 0.7 M parameters: a notebook/CPU transformer.
    "dit-tiny": dict(patch_size=2, hidden=96, depth=4, num_heads=3),
    # DiT-S: hidden 384, 12 layers, 6 heads (about 33 M parameters in the paper).
    "dit-s": dict(patch_size=2, hidden=384, depth=12, num_heads=6),
}


def build_dit(config: str, data_shape, **kwargs) -> DiTDenoiser:
    """A DiT from a named configuration for images of shape data_shape = (C, H, W); kwargs override."""
    if len(data_shape) != 3:
        raise ValueError(f"model {config!r} is for images (C, H, W), got data shape {tuple(data_shape)}")
    channels, height, _ = data_shape
    options = {**DIT_CONFIGS[config], **kwargs}
    return DiTDenoiser(in_channels=channels, img_resolution=height, **options)
