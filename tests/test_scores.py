"""scores: analytic, ideal-denoiser and push-forward scores against closed forms, brute force and autograd."""
import math

import pytest
import torch

from scoreaug_lab.data import GaussianMixture, ring_mixture
from scoreaug_lab.scores import (autograd_score, gaussian_denoiser, gaussian_log_prob, gaussian_score, ideal_denoiser,
                                 ideal_score, linear_pushforward_score, orthogonal_noisy_denoiser,
                                 orthogonal_noisy_score, pushforward_log_prob, pushforward_score,
                                 pushforward_score_terms, scaled_noisy_denoiser, scaled_noisy_score, score_to_denoiser,
                                 transform_inverse_map, transform_matrix, transform_pushforward_score,
                                 transform_pushforward_score_terms)
from scoreaug_lab.transforms import get_transform

TOL = 1e-9
SIGMAS = (0.01, 0.2, 1.0, 5.0)


def _points(n=200, d=2, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, d, generator=g, dtype=torch.float64)


def _max_err(a, b):
    return (a - b).abs().max().item()


MEAN = torch.tensor([0.3, -0.2], dtype=torch.float64)
COV = torch.tensor([[0.5, 0.2], [0.2, 0.3]], dtype=torch.float64)

ORTHOGONAL = ["rotate", "rot90", "flip", "reflect", "translate"]


# --- Gaussian and mixture oracles -----------------------------------------------------------------------

@pytest.mark.parametrize("sigma", SIGMAS)
def test_gaussian_score_is_gradient_of_log_prob(sigma):
    y = _points()
    auto = autograd_score(lambda v: gaussian_log_prob(v, sigma, MEAN, COV))(y)
    assert _max_err(gaussian_score(y, sigma, MEAN, COV), auto) < TOL


def test_gaussian_log_prob_matches_torch_distributions():
    y = _points()
    ref = torch.distributions.MultivariateNormal(MEAN, COV + 0.3**2 * torch.eye(2, dtype=torch.float64))
    assert _max_err(gaussian_log_prob(y, 0.3, MEAN, COV), ref.log_prob(y)) < TOL


@pytest.mark.parametrize("sigma", SIGMAS)
def test_gaussian_denoiser_is_tweedie_and_matches_isotropic_mixture(sigma):
    y = _points()
    assert _max_err(gaussian_denoiser(y, sigma, MEAN, COV),
                    score_to_denoiser(y, sigma, gaussian_score(y, sigma, MEAN, COV))) < TOL
    one = GaussianMixture(MEAN[None], 0.6)   # a single isotropic component: the same oracle twice
    assert _max_err(gaussian_denoiser(y, sigma, MEAN, 0.36), one.denoiser(y, sigma)) < TOL
    assert _max_err(gaussian_score(y, sigma, MEAN, 0.36), one.score(y, sigma)) < TOL


def test_gaussian_bad_inputs():
    y = _points(5)
    with pytest.raises(ValueError, match="positive definite"):
        gaussian_score(y, 0.0, MEAN, -COV)
    with pytest.raises(ValueError, match="mean must have 2"):
        gaussian_score(y, 0.0, [0.0, 0.0, 0.0], COV)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        gaussian_denoiser(y, -1.0, MEAN, COV)


# --- the ideal (memorising) denoiser: equivariance, limits, posterior ------------------------------------

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


# --- push-forward through maps --------------------------------------------------------------------------

def test_pushforward_matches_autograd_of_pushforward_density_quadratic_shear():
    mixture, shear = ring_mixture(), get_transform("quadratic_shear")
    y = _points(scale=0.8)
    formula = transform_pushforward_score(mixture.score, shear, [0.4])(y)
    density = pushforward_log_prob(mixture.log_prob, transform_inverse_map(shear, [0.4]))
    assert _max_err(formula, autograd_score(density)(y)) < 1e-8
    transported, volume = transform_pushforward_score_terms(mixture.score, shear, [0.4])(y)
    assert volume.abs().max().item() < 1e-12            # det J = 1: no volume term
    assert _max_err(transported, formula) < 1e-12


def test_pushforward_tanh_has_a_volume_term_equal_to_its_closed_form():
    """y = tanh(k x) / k: g(y) = atanh(k y) / k, log g'(y) = -log(1 - k^2 y^2), gradient 2 k^2 y / (1 - k^2 y^2)."""
    mixture, squash, k = ring_mixture(), get_transform("tanh"), 0.9
    y = (torch.rand(200, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1) * 0.95 / k
    transported, volume = transform_pushforward_score_terms(mixture.score, squash, [k])(y)
    assert _max_err(volume, 2 * k**2 * y / (1 - k**2 * y**2)) < 1e-9
    x = torch.atanh(k * y) / k
    assert _max_err(transported, mixture.score(x) / (1 - k**2 * y**2)) < 1e-9
    density = pushforward_log_prob(mixture.log_prob, transform_inverse_map(squash, [k]))
    assert _max_err(transported + volume, autograd_score(density)(y)) < 1e-8


def test_linear_pushforward_is_the_gaussian_closed_form():
    """X ~ N(m, C), Y = A X ~ N(A m, A C A^T): the linear formula and the general one give its score."""
    A = torch.tensor([[2.0, 1.0], [0.5, -1.0]], dtype=torch.float64)
    y = _points()
    truth = gaussian_score(y, 0.0, A @ MEAN, A @ COV @ A.T)
    score_x = (lambda v: gaussian_score(v, 0.0, MEAN, COV))
    assert _max_err(linear_pushforward_score(score_x, A)(y), truth) < TOL
    general = pushforward_score(score_x, lambda v: torch.linalg.solve(A, v.T).T)
    assert _max_err(general(y), truth) < TOL


def test_noisy_space_differs_from_clean_space_unless_orthogonal():
    """A (x0 + sigma n) ~ N(A m, A (C + sigma^2 I) A^T), but A x0 + sigma n ~ N(A m, A C A^T + sigma^2 I)."""
    sigma, y = 0.5, _points()
    for A, same in ((torch.tensor([[2.0, 1.0], [0.5, -1.0]], dtype=torch.float64), False),
                    (transform_matrix(get_transform("rotate"), [0.7], 2), True)):
        noisy_space = linear_pushforward_score(lambda v: gaussian_score(v, sigma, MEAN, COV), A)(y)
        clean_space = gaussian_score(y, 0.0, A @ MEAN, A @ COV @ A.T + sigma**2 * torch.eye(2, dtype=torch.float64))
        assert (_max_err(noisy_space, clean_space) < TOL) == same


def test_singular_linear_map_raises():
    with pytest.raises(ValueError, match="singular"):
        linear_pushforward_score(lambda v: v, torch.tensor([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(ValueError, match="square"):
        linear_pushforward_score(lambda v: v, torch.ones(2, 3))


# --- orthogonal maps of noisy data: s_T(y; sigma) = T s(T^T y; sigma) at every sigma -------------------------

@pytest.mark.parametrize("name,params", [("rot90", [1.0]), ("flip", [1.0]), ("rotate", [0.9]), ("reflect", [1.0, 0.4])])
def test_orthogonal_noisy_score_and_denoiser(name, params):
    base = GaussianMixture([[0.7, 0.1], [-0.3, 0.5], [0.2, -0.8]], [0.15, 0.3, 0.2], [1.0, 2.0, 1.5])
    T = transform_matrix(get_transform(name), params, 2)
    rotated = GaussianMixture(base.means @ T.T, base.stds, base.weights)   # the law of T(x0)
    y = _points()
    for sigma in SIGMAS:
        assert _max_err(orthogonal_noisy_score(base.score, T)(y, sigma), rotated.score(y, sigma)) < TOL
        assert _max_err(orthogonal_noisy_denoiser(base.denoiser, T)(y, sigma), rotated.denoiser(y, sigma)) < TOL


@pytest.mark.parametrize("name,params", [("scale", [math.log(1.5)]), ("shear", [0.3])])
def test_orthogonal_case_refuses_non_orthogonal_maps(name, params):
    T = transform_matrix(get_transform(name), params, 2)
    with pytest.raises(ValueError, match="not orthogonal"):
        orthogonal_noisy_score(ring_mixture().score, T)


# --- scaling y = a x: noise level a sigma, D_Y(y; a sigma) = a D_X(y / a; sigma) ---------------------------

@pytest.mark.parametrize("a", [0.5, 1.5, 3.0])
def test_scaling_rescales_the_noise_level(a):
    base = ring_mixture()
    scaled = GaussianMixture(a * base.means, a * base.stds, base.weights)   # the law of a x0
    y = _points(scale=a)
    for sigma in SIGMAS:
        assert _max_err(scaled_noisy_denoiser(base.denoiser, a)(y, a * sigma), scaled.denoiser(y, a * sigma)) < TOL
        assert _max_err(scaled_noisy_score(base.score, a)(y, a * sigma), scaled.score(y, a * sigma)) < TOL
    # the scale transform of the point family is this map
    A = transform_matrix(get_transform("scale"), [math.log(a)], 2)
    assert _max_err(A, a * torch.eye(2, dtype=torch.float64)) < 1e-12
    with pytest.raises(ValueError, match="> 0"):
        scaled_noisy_denoiser(base.denoiser, -a)


# --- transforms with fixed parameters ----------------------------------------------------------------------

def test_transform_helpers_check_their_inputs():
    squash = get_transform("tanh")
    with pytest.raises(ValueError, match="outside the image"):
        transform_pushforward_score(ring_mixture().score, squash, [1.0])(torch.full((3, 2), 1.5, dtype=torch.float64))
    with pytest.raises(ValueError, match="not linear"):
        transform_matrix(squash, [1.0], 2)
    with pytest.raises(ValueError, match=r"params must have shape"):
        transform_inverse_map(squash, [1.0, 2.0])
    with pytest.raises(ValueError, match="batched"):
        pushforward_score_terms(lambda v: v, lambda v: v)(torch.zeros(2, dtype=torch.float64))
