"""Conditioning shared by every denoiser: noise level, augmentation code omega and class labels.

omega enters through a bias-free linear layer whose output is added to the noise-level embedding, so
omega = 0 contributes exactly zero and the model equals the unaugmented one bit for bit. The omega layer
draws its initial weights from a generator of its own (seeded from torch's seed), so building it consumes
none of the global random stream: under one seed, a model with omega and one without start from the same
weights in every layer they share (the reproduction compares such arms paired by seed).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


OMEGA_STREAM = 0x0E6A   # offset of the omega layer's generator seed from torch's seed


def own_stream_linear(fan_in: int, fan_out: int, stream: int = OMEGA_STREAM) -> nn.Linear:
    """A bias-free nn.Linear initialised as torch initialises one (Kaiming-uniform, a = sqrt(5)) but from its own
    generator, seeded torch.initial_seed() + stream; the global random state is left as it was."""
    with torch.random.fork_rng(devices=[]):   # the default init below consumes, then is undone
        layer = nn.Linear(fan_in, fan_out, bias=False)
    generator = torch.Generator().manual_seed((torch.initial_seed() + stream) % 2**63)
    with torch.no_grad():
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    return layer


class SinusoidalEmbedding(nn.Module):
    """(B,) scalars -> (B, channels) sines and cosines at geometric frequencies 1 ... 1/max_period."""

    def __init__(self, channels: int, max_period: float = 10_000.0):
        super().__init__()
        if channels % 2:
            raise ValueError(f"embedding channels must be even, got {channels}")
        half = channels // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / max(half - 1, 1))
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = t.float()[:, None] * self.freqs[None, :]
        return torch.cat([angles.cos(), angles.sin()], dim=1)


def labels_to_onehot(labels: torch.Tensor, label_dim: int) -> torch.Tensor:
    """Class indices (B,) or one-hot rows (B, K) -> float rows (B, K); a zero row means 'no label'."""
    if labels.ndim == 1:
        # A data-dependent check: skipped while torch.compile traces (it would break the graph).
        if labels.numel() and not torch.compiler.is_compiling() and (labels.min() < 0 or labels.max() >= label_dim):
            raise ValueError(f"class labels must lie in [0, {label_dim}), got {labels.min()}..{labels.max()}")
        return F.one_hot(labels.long(), label_dim).float()
    if labels.ndim != 2 or labels.shape[1] != label_dim:
        raise ValueError(f"labels must be (B,) indices or (B, {label_dim}) one-hot rows, got {tuple(labels.shape)}")
    return labels.float()


def drop_labels(labels_onehot: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Label dropout for classifier-free guidance: each row (B, K) becomes all zeros with probability p.

    A zero row is the model's 'no label' input: ConditionEmbedding feeds labels=None as zero rows, so the
    output equals that of labels=None (with a bias-free label layer both add exactly nothing; with a
    biased one both add the bias, a learnt 'no label' vector). The keep/drop mask is drawn from `generator`
    (on the generator's device, then moved to the labels' device), so runs stay reproducible.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"label dropout probability must lie in [0, 1], got {p}")
    if labels_onehot.ndim != 2:
        raise ValueError("drop_labels expects one-hot rows (B, K); convert class indices with "
                         f"labels_to_onehot first, got shape {tuple(labels_onehot.shape)}")
    device = generator.device if generator is not None else labels_onehot.device
    keep = torch.rand(labels_onehot.shape[0], generator=generator, device=device) >= p  # (B,)
    return labels_onehot * keep.to(labels_onehot.device, labels_onehot.dtype)[:, None]


class ConditionEmbedding(nn.Module):
    """emb = MLP(sinusoidal(c_noise) + W_omega omega + W_label onehot(label) [+ b_label]), shape (B, emb_dim).

    label_bias=True gives the label layer a bias (as in EDM's SongUNet); labels=None is then the zero row,
    i.e. the bias alone. omega's layer is always bias-free.
    """

    def __init__(self, emb_dim: int, noise_channels: int | None = None, omega_dim: int = 0, label_dim: int = 0,
                 label_bias: bool = False):
        super().__init__()
        noise_channels = noise_channels or emb_dim
        self.omega_dim, self.label_dim = int(omega_dim), int(label_dim)
        self.noise = SinusoidalEmbedding(noise_channels)
        self.omega = own_stream_linear(omega_dim, noise_channels) if omega_dim else None
        self.label = nn.Linear(label_dim, noise_channels, bias=label_bias) if label_dim else None
        if self.label is not None and self.label.bias is not None:
            nn.init.zeros_(self.label.bias)
        self.mlp = nn.Sequential(nn.Linear(noise_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim), nn.SiLU())

    def forward(self, c_noise: torch.Tensor, omega: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.noise(c_noise)
        if omega is not None:
            if self.omega is None:
                raise ValueError("this model was built without an omega input (omega_dim = 0); pass omega=None")
            if omega.ndim != 2 or omega.shape != (c_noise.shape[0], self.omega_dim):
                raise ValueError(f"omega must have shape ({c_noise.shape[0]}, {self.omega_dim}), got {tuple(omega.shape)}")
            emb = emb + self.omega(omega.to(emb.dtype))
        if labels is not None and self.label is None:
            raise ValueError("this model was built without class labels (label_dim = 0); pass labels=None")
        if self.label is not None and (labels is not None or self.label.bias is not None):
            onehot = (emb.new_zeros(emb.shape[0], self.label_dim) if labels is None  # 'no label': zero rows
                      else labels_to_onehot(labels, self.label_dim).to(emb.dtype))   # (B, label_dim)
            emb = emb + self.label(onehot)
        return self.mlp(emb)
