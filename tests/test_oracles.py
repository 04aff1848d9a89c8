"""The ideal (memorising) denoiser and the closed-form mixture: equivariance, Tweedie, limits."""
import math

import pytest
import torch

from scoreaug_lab.data import ring_mixture
from scoreaug_lab.scores import ideal_denoiser, ideal_score, score_to_denoiser
from scoreaug_lab.transforms import get_transform

ORTHOGONAL = ["rotate", "rot90", "flip", "reflect", "translate"]


def _set(n=64, seed=0):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 0.5


@pytest.mark.parametrize("name", ORTHOGONAL)
@pytest.mark.parametrize("sigma", [0.01, 0.1, 1.0, 10.0])
def test_ideal_denoiser_is_equivariant_under_orthogonal_maps(name, sigma):
    """D*_{T X}(T y) = T D*_X(y): the ScoreAug-optimal denoiser for omega_T is the ideal denoiser of
    the transformed set, and orthogonal T keeps distances."""
    t = get_transform(name)
    train, y = _set(), _set(128, 1) * 1.5
    p = t.sample_params(1, torch.Generator().manual_seed(2)).double()
    p_train, p_y = p.expand(train.shape[0], -1), p.expand(y.shape[0], -1)
    lhs = ideal_denoiser(t.apply(y, p_y), sigma, t.apply(train, p_train))
    rhs = t.apply(ideal_denoiser(y, sigma, train), p_y)
    assert (lhs - rhs).abs().max() < 1e-6


def test_ideal_denoiser_is_not_equivariant_under_scaling():
    t, train, y = get_transform("scale"), _set(), _set(128, 1)
    p = torch.full((1, 1), math.log(1.5), dtype=torch.float64)
    lhs = ideal_denoiser(t.apply(y, p.expand(128, 1)), 0.3, t.apply(train, p.expand(64, 1)))
    rhs = t.apply(ideal_denoiser(y, 0.3, train), p.expand(128, 1))
    assert (lhs - rhs).abs().max() > 1e-2
    # ... but it is with the noise level rescaled: D_{aX}(a y; a sigma) = a D_X(y; sigma)
    lhs = ideal_denoiser(1.5 * y, 1.5 * 0.3, 1.5 * train)
    assert (lhs - 1.5 * ideal_denoiser(y, 0.3, train)).abs().max() < 1e-9


def test_ideal_denoiser_limits():
    train = _set()
    # tiny noise: snaps to the nearest training point
    y = train[:10] + 1e-4
    assert (ideal_denoiser(y, 1e-3, train) - train[:10]).abs().max() < 1e-6
    # huge noise: the mean of the set
    far = torch.zeros(3, 2, dtype=torch.float64)
    assert (ideal_denoiser(far, 1e4, train) - train.mean(0)).abs().max() < 1e-6


def test_ideal_denoiser_matches_posterior_by_brute_force():
    train, y = _set(5), _set(3, 4)
    sigma = 0.4
    logw = torch.stack([-((yi - train) ** 2).sum(1) / (2 * sigma**2) for yi in y])
    w = torch.exp(logw - logw.max(1, keepdim=True).values)
    w = w / w.sum(1, keepdim=True)
    assert (ideal_denoiser(y, sigma, train) - w @ train).abs().max() < 1e-12


def test_ideal_score_is_gradient_of_log_density():
    train, y = _set(8), _set(4, 5).requires_grad_(True)
    sigma = 0.3
    logp = torch.logsumexp(-((y[:, None] - train[None]) ** 2).sum(-1) / (2 * sigma**2), dim=1)
    (grad,) = torch.autograd.grad(logp.sum(), y)
    assert (ideal_score(y.detach(), sigma, train) - grad).abs().max() < 1e-9


@pytest.mark.parametrize("sigma", [0.02, 0.3, 2.0])
def test_mixture_tweedie_and_score(sigma):
    gmm = ring_mixture()
    y = (torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)).requires_grad_(True)
    (grad,) = torch.autograd.grad(gmm.log_prob(y, sigma).sum(), y)
    assert (gmm.score(y.detach(), sigma) - grad).abs().max() < 1e-9
    assert (score_to_denoiser(y.detach(), sigma, grad) - gmm.denoiser(y.detach(), sigma)).abs().max() < 1e-9


def test_mixture_denoiser_is_posterior_mean_by_monte_carlo():
    gmm = ring_mixture()
    g = torch.Generator().manual_seed(0)
    x0 = gmm.sample(400_000, g).double()
    sigma = 0.5
    y = x0 + sigma * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    # E[x0 | y] averaged over a small window around a probe point
    probe = torch.tensor([0.4, 0.1], dtype=torch.float64)
    near = ((y - probe) ** 2).sum(1) < 0.05**2
    assert near.sum() > 200
    mc = x0[near].mean(0)
    assert (mc - gmm.denoiser(probe[None], sigma)[0]).abs().max() < 0.03
