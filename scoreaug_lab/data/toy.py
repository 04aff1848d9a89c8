"""Toy 2-D data: an 8-mode Gaussian mixture with closed-form density, score and denoiser, two moons,
a 2-D swiss roll and a checkerboard. Every set is scaled to a per-coordinate spread near sigma_data = 0.5.
"""
from __future__ import annotations

import math

import numpy as np
import torch

TOY_SETS = ("gmm8", "moons", "swissroll", "checkerboard")


class GaussianMixture:
    """sum_k w_k N(mu_k, s_k^2 I) in R^d, with everything closed form at any noise level sigma:
    the noisy marginal p_sigma = sum_k w_k N(mu_k, (s_k^2 + sigma^2) I), its score, and the
    true (minimum mean squared error) denoiser E[x0 | x0 + sigma n = y]."""

    def __init__(self, means, stds, weights=None):
        self.means = torch.as_tensor(means, dtype=torch.float64)            # (K, d)
        k = self.means.shape[0]
        self.stds = torch.as_tensor(stds, dtype=torch.float64).expand(k).clone()  # (K,)
        w = torch.ones(k, dtype=torch.float64) if weights is None else torch.as_tensor(weights, dtype=torch.float64)
        if (self.stds <= 0).any() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("mixture needs positive stds and non-negative weights that are not all zero")
        self.weights = w / w.sum()

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        return (self.means[comp] + self.stds[comp, None] * noise).float()

    def _log_components(self, y: torch.Tensor, sigma) -> tuple[torch.Tensor, torch.Tensor]:
        """log w_k N(y; mu_k, v_k I) for each component, (B, K), and the variances v_k, (B, K)."""
        y = torch.as_tensor(y, dtype=torch.float64)
        sigma = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1, 1)  # (B or 1, 1)
        var = self.stds[None, :] ** 2 + sigma**2                           # (B, K)
        sq = ((y[:, None, :] - self.means[None]) ** 2).sum(-1)             # (B, K)
        logn = -0.5 * sq / var - 0.5 * self.dim * torch.log(2 * math.pi * var)
        return self.weights.log()[None] + logn, var

    def log_prob(self, y, sigma=0.0) -> torch.Tensor:
        """log p_sigma(y), (B,)."""
        logc, _ = self._log_components(y, sigma)
        return torch.logsumexp(logc, dim=1)

    def score(self, y, sigma=0.0) -> torch.Tensor:
        """grad_y log p_sigma(y) = sum_k r_k (mu_k - y) / v_k, (B, d) in float64."""
        y = torch.as_tensor(y, dtype=torch.float64)
        logc, var = self._log_components(y, sigma)
        resp = torch.softmax(logc, dim=1)                                  # (B, K)
        return (resp[..., None] * (self.means[None] - y[:, None, :]) / var[..., None]).sum(1)

    def denoiser(self, y, sigma) -> torch.Tensor:
        """E[x0 | y] = sum_k r_k (mu_k + s_k^2 / v_k (y - mu_k)), (B, d) in float64."""
        y = torch.as_tensor(y, dtype=torch.float64)
        logc, var = self._log_components(y, sigma)
        resp = torch.softmax(logc, dim=1)
        shrink = self.stds[None] ** 2 / var                                # (B, K)
        comp_mean = self.means[None] + shrink[..., None] * (y[:, None, :] - self.means[None])
        return (resp[..., None] * comp_mean).sum(1)


def ring_mixture(n_modes: int = 8, radius: float = 0.7, std: float = 0.15) -> GaussianMixture:
    """n_modes equal Gaussians on a circle (the default is symmetric under rot90 and flips)."""
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture(means, std)


def _numpy_rng(generator: torch.Generator) -> np.random.Generator:
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))


def _moons(n, generator):
    from sklearn.datasets import make_moons
    x, _ = make_moons(n, noise=0.05, random_state=_numpy_rng(generator).integers(2**31))
    return (torch.from_numpy(x).float() - torch.tensor([0.5, 0.25])) * 0.6


def _swissroll(n, generator):
    from sklearn.datasets import make_swiss_roll
    x, _ = make_swiss_roll(n, noise=0.3, random_state=_numpy_rng(generator).integers(2**31))
    return (torch.from_numpy(x[:, [0, 2]]).float() - torch.tensor([2.0, 0.2])) / 14.0


def _checkerboard(n, generator, cells: int = 4):
    """Uniform on the 'black' squares of a cells x cells board covering [-0.9, 0.9]^2."""
    rng = _numpy_rng(generator)
    i = rng.integers(0, cells, n)
    j = (rng.integers(0, cells // 2, n) * 2 + i % 2) % cells   # (i + j) even
    u = rng.random((n, 2))
    xy = np.stack([i + u[:, 0], j + u[:, 1]], axis=1) / cells * 2 - 1
    return torch.from_numpy(xy * 0.9).float()


def sample_toy(name: str, n: int, generator: torch.Generator) -> torch.Tensor:
    """n points (n, 2) of toy set `name`."""
    if n < 0:
        raise ValueError(f"number of points must be >= 0, got {n}")
    if name == "gmm8":
        return ring_mixture().sample(n, generator)
    makers = {"moons": _moons, "swissroll": _swissroll, "checkerboard": _checkerboard}
    if name not in makers:
        raise ValueError(f"unknown toy data set {name!r}; choose one of {', '.join(TOY_SETS)}")
    return makers[name](n, generator)


def true_distribution(name: str):
    """The closed-form distribution of a toy set, where there is one (gmm8), else None."""
    return ring_mixture() if name == "gmm8" else None
