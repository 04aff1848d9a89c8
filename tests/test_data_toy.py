"""data.toy: the mixture's closed-form score and denoiser against autograd, Tweedie and Monte Carlo."""
import pytest
import torch

from scoreaug_lab.data import ring_mixture
from scoreaug_lab.scores import score_to_denoiser


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
