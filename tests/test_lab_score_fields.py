"""lab.score_fields: push-forward fields against closed forms and autograd, model fields against Tweedie."""
import math

import pytest
import torch

from scoreaug_lab.data import ring_mixture
from scoreaug_lab.lab.score_fields import inside_image, log_densities, model_field, pushforward_field, square_grid
from scoreaug_lab.oracles import MixtureDenoiser
from scoreaug_lab.transforms import get_transform


def _rotation(theta):
    c, s = math.cos(theta), math.sin(theta)
    return torch.tensor([[c, -s], [s, c]], dtype=torch.float64)


@pytest.mark.parametrize("name, values, matrix", [
    ("rotate", {"angle": 50.0}, _rotation(math.radians(50))), ("rot90", {"k": 1}, _rotation(math.pi / 2)),
    ("flip", {"flip": True}, torch.diag(torch.tensor([-1.0, 1.0], dtype=torch.float64)))])
def test_pushforward_of_an_orthogonal_transform_is_the_rotated_field(name, values, matrix):
    t, (_, grid), mixture = get_transform(name, "points"), square_grid(1.6, 9), ring_mixture()
    f = pushforward_field(mixture, t, t.params_from_controls(values), 0.3, grid)
    expected = mixture.score(grid @ matrix, 0.3) @ matrix.T                           # T s(T^T y)
    assert f.valid.all() and (f.total - expected).abs().max() < 1e-9
    assert f.volume.abs().max() < 1e-12 and f.check_max_abs_diff < 1e-9 and "closed form" in f.method


def test_pushforward_of_scaling_and_shear():
    (_, grid), mixture = square_grid(1.6, 9), ring_mixture()
    t = get_transform("scale", "points")
    f = pushforward_field(mixture, t, t.params_from_controls({"a": 1.5}), 0.2, grid)
    assert (f.total - mixture.score(grid / 1.5, 0.2) / 1.5).abs().max() < 1e-9        # s(y / a) / a
    assert f.volume.abs().max() < 1e-12
    t = get_transform("shear", "points")
    f = pushforward_field(mixture, t, t.params_from_controls({"shear": 0.7}), 0.2, grid)
    assert f.volume.abs().max() < 1e-12 and f.check_max_abs_diff < 1e-9


def test_jacobian_term_of_tanh_matches_autograd():
    k, sigma, (_, grid), mixture = 1.2, 0.25, square_grid(1.6, 9), ring_mixture()
    t = get_transform("tanh", "points")
    params = t.params_from_controls({"strength": k})
    f = pushforward_field(mixture, t, params, sigma, grid)
    valid = f.valid
    assert valid.any() and not valid.all() and torch.equal(valid, (k * grid.abs() < 1).all(1))   # |y| < 1/k
    assert f.jacobian_max > 0.1 and torch.isnan(f.total[~valid]).all()
    y = grid[valid].clone().requires_grad_(True)
    (grad_volume,) = torch.autograd.grad(-torch.log1p(-(k * y) ** 2).sum(), y)
    assert (f.volume[valid] - grad_volume).abs().max() < 1e-9
    y2 = grid[valid].clone().requires_grad_(True)
    log_p = mixture.log_prob(torch.atanh(k * y2) / k, sigma) - torch.log1p(-(k * y2) ** 2).sum(1)
    (grad,) = torch.autograd.grad(log_p.sum(), y2)
    assert (f.total[valid] - grad).abs().max() < 1e-8
    # the log-density: log p_sigma(atanh(k y) / k) - sum log(1 - (k y)^2), NaN outside the image
    data, pushed = log_densities(mixture, t, params, sigma, grid)
    assert (pushed[valid] - log_p.detach()).abs().max() < 1e-9 and torch.isnan(pushed[~valid]).all()
    assert (data - mixture.log_prob(grid, sigma)).abs().max() == 0
    q = get_transform("quadratic_shear", "points")                                   # non-linear, det J = 1
    f = pushforward_field(mixture, q, q.params_from_controls({"curvature": 0.9}), sigma, grid)
    assert f.jacobian_max < 1e-12 and f.check_max_abs_diff < 1e-8
    assert inside_image(q, q.params_from_controls({"curvature": 0.9}), grid).all()


def test_tanh_at_strength_zero_is_the_identity():
    """k = 0 is the limit tanh(k x) / k -> x: the push-forward score is the data score (closed form) everywhere on
    the explorer's grid, including |y| = 1, where atanh(y) is infinite (it gave NaN arrows); small k tends to it."""
    sigma, (_, grid), mixture = 0.2, square_grid(1.6, 17), ring_mixture()
    t = get_transform("tanh", "points")
    assert (grid.abs() == 1).any()
    f = pushforward_field(mixture, t, t.params_from_controls({"strength": 0.0}), sigma, grid)
    closed = mixture.score(grid, sigma)
    assert f.valid.all() and (f.total - closed).abs().max() < 1e-12 and f.volume.abs().max() < 1e-12
    assert (f.check - closed).abs().max() < 1e-9 and f.check_max_abs_diff < 1e-9
    data, pushed = log_densities(mixture, t, t.params_from_controls({"strength": 0.0}), sigma, grid)
    assert (pushed - data).abs().max() < 1e-12
    near = pushforward_field(mixture, t, t.params_from_controls({"strength": 1e-4}), sigma, grid)
    assert (near.total - closed).abs().max() < 1e-5


def test_model_field_is_tweedie():
    mixture, (_, grid) = ring_mixture(), square_grid(1.6, 5)
    samples = mixture.sample(50, torch.Generator().manual_seed(0)).double()
    m = model_field(MixtureDenoiser(mixture), mixture, grid, samples, 0.3)
    # the true denoiser in float32: its Tweedie score is the closed-form score up to float32 round-off
    assert (m.score - mixture.score(grid, 0.3)).abs().max() < 1e-4 and m.relative_error < 1e-5
    with pytest.raises(ValueError, match="sigma"):
        model_field(MixtureDenoiser(mixture), mixture, grid, samples, float("nan"))


def test_square_grid_is_the_exact_grid_and_takes_only_whole_sizes():
    axis, points = square_grid(1.5, 4)
    assert torch.equal(axis, torch.tensor([-1.5, -0.5, 0.5, 1.5], dtype=torch.float64))
    assert torch.equal(points[:5], torch.tensor([[-1.5, -1.5], [-0.5, -1.5], [0.5, -1.5], [1.5, -1.5], [-1.5, -0.5]],
                                                dtype=torch.float64))                    # x varying fastest
    assert torch.equal(square_grid(1.5, 4.0)[1], points)                                # a whole float is the size
    with pytest.raises(ValueError, match="size must be a whole number, got 4.7"):
        square_grid(1.5, 4.7)
