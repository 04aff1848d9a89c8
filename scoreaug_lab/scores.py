"""Analytic and ideal denoisers and scores.

The ideal (memorising) denoiser of a finite training set {x_i}: with x0 uniform on the set and
y = x0 + sigma n, the posterior mean is a softmax over squared distances,

    D*(y; sigma) = sum_i w_i(y) x_i,   w_i(y) = softmax_i(-||y - x_i||^2 / (2 sigma^2)).

A network that matches D* can only reproduce training points: memorisation. Tweedie's formula links
denoiser and score of the noisy marginal: D(y; sigma) = y + sigma^2 grad_y log p_sigma(y).
"""
from __future__ import annotations

import torch


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)


def ideal_weights(y: torch.Tensor, sigma, train: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Posterior weights w (B, N) over the training points for noisy inputs y (B, ...), float64."""
    y64, x64 = _flat(y).double(), _flat(train).double()
    sigma = torch.as_tensor(sigma, dtype=torch.float64, device=y.device).reshape(-1)
    if sigma.numel() not in (1, y.shape[0]):
        raise ValueError(f"sigma must be a scalar or have {y.shape[0]} entries, got {sigma.numel()}")
    if (sigma <= 0).any():
        raise ValueError("sigma must be > 0 for the ideal denoiser")
    sigma = sigma.expand(y.shape[0])
    x_sq = (x64**2).sum(1)
    out = []
    for start in range(0, y64.shape[0], chunk):  # chunks bound the (B, N) distance matrix
        yc, sc = y64[start:start + chunk], sigma[start:start + chunk]
        sq = (yc**2).sum(1, keepdim=True) - 2 * yc @ x64.T + x_sq[None]  # ||y - x_i||^2
        out.append(torch.softmax(-sq.clamp(min=0) / (2 * sc[:, None] ** 2), dim=1))
    return torch.cat(out)


def ideal_denoiser(y: torch.Tensor, sigma, train: torch.Tensor, values: torch.Tensor | None = None,
                   chunk: int = 1024) -> torch.Tensor:
    """D*(y; sigma) = sum_i w_i(y) v_i with v_i = x_i (or given `values`, e.g. T(x_i)); same shape as y,
    float64. Scalar sigma or one per sample."""
    w = ideal_weights(y, sigma, train, chunk)
    v = _flat(train if values is None else values).double()
    return (w @ v).reshape(y.shape[0], *(train if values is None else values).shape[1:])


def ideal_score(y: torch.Tensor, sigma, train: torch.Tensor) -> torch.Tensor:
    """Score of the noisy empirical distribution: (D*(y) - y) / sigma^2."""
    return denoiser_to_score(ideal_denoiser(y, sigma, train), y.double(), sigma)


def _sigma_like(sigma, y: torch.Tensor) -> torch.Tensor:
    s = torch.as_tensor(sigma, dtype=y.dtype, device=y.device)
    return s.reshape(-1, *([1] * (y.ndim - 1))) if s.ndim else s


def denoiser_to_score(denoised: torch.Tensor, y: torch.Tensor, sigma) -> torch.Tensor:
    """Tweedie: grad log p_sigma(y) = (D(y) - y) / sigma^2."""
    return (denoised - y) / _sigma_like(sigma, y) ** 2


def score_to_denoiser(score: torch.Tensor, y: torch.Tensor, sigma) -> torch.Tensor:
    """Tweedie: D(y) = y + sigma^2 grad log p_sigma(y)."""
    return y + _sigma_like(sigma, y) ** 2 * score
