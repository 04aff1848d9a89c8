"""optima: the variants' optimal denoisers against the ideal denoiser, its transforms and Gaussian posteriors."""
import math

import pytest
import torch

from scoreaug_lab.optima import MixtureOptimum, transform_draws, variant_optimum
from scoreaug_lab.scores import ideal_denoiser
from scoreaug_lab.transforms import build_sampler, get_transform
from scoreaug_lab.transforms.linear import affine_parts

from support import _scaled_points as _points


@pytest.mark.parametrize("sigma", [0.02, 0.3, 3.0])
def test_conditioned_optima_are_transformed_ideal_denoisers(sigma):
    train_x, y = _points(48, 0), _points(64, 1, 1.0)
    sampler = build_sampler("scale,translate,rotate", "points", 0.5)
    # omega = 0 and noaug: the ideal denoiser of the training set
    for variant in ("noaug", "clean-omega", "scoreaug"):
        got = variant_optimum(train_x, variant, sampler)(y, sigma)
        assert (got - ideal_denoiser(y, sigma, train_x)).abs().max() < 1e-7
    for name, value in [("scale", 0.4), ("translate", 0.3), ("rotate", 1.1)]:
        t = sampler.transforms[sampler.index(name)]
        p = torch.full((1, t.n_params), value, dtype=torch.float64)
        t_y, t_train = p.expand(len(y), -1), p.expand(len(train_x), -1)
        # ScoreAug told omega_T: T D*(T^-1 y; sigma), the equivariant optimum
        got = variant_optimum(train_x, "scoreaug", sampler, at=(name, p))(y, sigma)
        want = t.apply(ideal_denoiser(t.inverse(y, t_y), sigma, train_x), t_y)
        assert (got - want).abs().max() < 1e-7
        # clean-omega told omega_T: the ideal denoiser of the set T(x_i) at the same sigma
        got = variant_optimum(train_x, "clean-omega", sampler, at=(name, p))(y, sigma)
        assert (got - ideal_denoiser(y, sigma, t.apply(train_x, t_train))).abs().max() < 1e-7


def test_mixture_optimum_matches_gaussian_posterior_mean():
    """Unconditioned optima: posterior mean over (i, j) with N(T_j x_i, sigma^2 I) (clean) or
    N(T_j x_i, sigma^2 A_j A_j^T) (noisy); reference densities from torch.distributions."""
    train_x, y, sigma = _points(20, 2), _points(30, 3, 1.0), 0.4
    a, b = affine_parts(get_transform("shear"), torch.tensor([[0.0], [0.7], [-0.4]], dtype=torch.float64), 2)
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    values = torch.einsum("jkl,nl->jnk", a, train_x) + b[:, None]                  # (J, N, 2)
    for space in ("clean", "noisy"):
        cov = sigma**2 * (torch.eye(2, dtype=torch.float64)[None] if space == "clean" else a @ a.transpose(1, 2))
        dist = torch.distributions.MultivariateNormal(values, covariance_matrix=cov[:, None].expand(-1, 20, -1, -1))
        logw = dist.log_prob(y[:, None, None]) + weights.log()[None, :, None]      # (B, J, N)
        want = torch.softmax(logw.reshape(len(y), -1), dim=1) @ values.reshape(-1, 2)
        assert (MixtureOptimum(train_x, (a, b), weights, space)(y, sigma) - want).abs().max() < 1e-7
    # equal weights over {I, T} in clean space = the ideal denoiser of the union of both sets
    got = MixtureOptimum(train_x, (a[:2], b[:2]), [1.0, 1.0], "clean")(y, sigma)
    assert (got - ideal_denoiser(y, sigma, values[:2].reshape(-1, 2))).abs().max() < 1e-7
    # float32 (the widgets' speed setting) stays close
    got32 = MixtureOptimum(train_x, (a, b), weights, "noisy", dtype=torch.float32)(y, sigma)
    assert got32.dtype == torch.float32 and (got32.double() - want).abs().max() < 1e-4


def test_affine_parts_and_quantised_draws():
    a, b = affine_parts(get_transform("rotate"), torch.tensor([[math.pi / 2]]), 2)
    assert (a - torch.tensor([[[0.0, -1.0], [1.0, 0.0]]], dtype=torch.float64)).abs().max() < 1e-6
    assert b.abs().max() < 1e-12
    with pytest.raises(ValueError, match="not affine"):
        affine_parts(get_transform("tanh"), torch.zeros(1, 1), 2)
    params, counts = transform_draws(get_transform("rot90"), 16)       # discrete: each element once
    assert params.flatten().tolist() == [0.0, 1.0, 2.0, 3.0] and counts.sum() == 16 * 64
    params, counts = transform_draws(get_transform("scale", max_log=0.6), 8)   # continuous: nearly even spacing
    p = params.flatten().sort().values
    assert len(p) == 8 and p.min() >= -0.6 and p.max() <= 0.6
    gaps = p.diff()
    assert gaps.max() < 2.0 * gaps.min() and abs(gaps.mean().item() - 1.2 / 8) < 0.03
