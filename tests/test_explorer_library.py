"""The library behind the explorers, checked against the mathematics: noise_report (transform explorers, notebook
02), transforms.linear's fast noise statistics, score_fields (score field explorer) and sampler_report (sampler
explorer, with the sampler's own start noise)."""
import math

import numpy as np
import pytest
import torch

from scoreaug_lab.data import load_data, ring_mixture
from scoreaug_lab.lab.noise_report import noise_draws, noise_report, transform_for
from scoreaug_lab.lab.sampler_report import sampler_report
from scoreaug_lab.lab.score_fields import inside_image, log_densities, model_field, pushforward_field, square_grid
from scoreaug_lab.oracles import MixtureDenoiser
from scoreaug_lab.sampling import SeededNoise
from scoreaug_lab.transforms import get_transform, registry
from scoreaug_lab.transforms.images import ImageTransform
from scoreaug_lab.transforms.linear import image_noise_summary

EXACT = 1e-10


@pytest.fixture(scope="module")
def digits():
    """8x8 digits: 24 training images (the optima's set) and one held-out image x0 (1, 1, 8, 8)."""
    split = load_data("digits:8", 24, n_heldout=64, seed=0)
    return split.train.double(), split.heldout[:1].double()


def report(data, name, values, sigma=0.3, denoiser="noisy", seed=0, kind="images"):
    train, x0 = data
    t = transform_for(kind, name)
    return noise_report(t, t.params_from_controls(values), x0, sigma, noise_draws(x0.shape, 8, seed),
                        denoiser=denoiser, train=train)


# --- transforms.linear: the fast noise statistics the explorers show ----------------------------------------
@pytest.mark.parametrize("name", sorted(registry("images")))
def test_fast_noise_statistics_equal_the_dense_matrix(name):
    t = get_transform(name, "images")
    g = torch.Generator().manual_seed(3)
    for _ in range(3):
        params = t.sample_params(1, g).double()
        h, w = (16, 16) if name == "rot90" else (16, 12)                       # rot90 needs squares
        fast = image_noise_summary(t, params, h, w)
        full = image_noise_summary(t, params, h, w, dense=True)
        assert fast.method == "probes" and full.method == "dense"
        assert (fast.variance - full.variance).abs().max() < 1e-12
        assert (fast.corr_right - full.corr_right).abs().max() < 1e-12
        assert (fast.corr_down - full.corr_down).abs().max() < 1e-12
        assert fast.partial_isometry == full.partial_isometry


class BoxBlur(ImageTransform):
    """A 3x3 box blur (zero padded): linear, support wider than 2x2, so the probes must be refused."""

    name, n_params, omega_dim = "box_blur", 1, 1
    linear = affine = True

    def _sample(self, batch, generator, device):
        return torch.zeros(batch, 1)

    def _apply(self, x, params):
        kernel = torch.full((1, 1, 3, 3), 1 / 9, dtype=x.dtype)
        c = x.shape[1]
        return torch.nn.functional.conv2d(x, kernel.expand(c, 1, 3, 3), padding=1, groups=c)

    def encode(self, params):
        return params.clone()


def test_noise_statistics_fall_back_to_the_dense_matrix_for_wide_transforms():
    t = BoxBlur()
    fast = image_noise_summary(t, torch.zeros(1, 1), 8, 8)
    full = image_noise_summary(t, torch.zeros(1, 1), 8, 8, dense=True)
    assert fast.method == "dense"
    assert (fast.variance - full.variance).abs().max() < 1e-12
    assert abs(fast.variance[3, 3].item() - 1 / 9) < 1e-12        # interior: 9 weights of 1/9


# --- noise_report on images -----------------------------------------------------------------------------
@pytest.mark.parametrize("name, values", [
    ("rot90", {"k": 1}), ("rot90", {"k": 3}), ("xflip", {"flip": True}), ("yflip", {"flip": True}),
    ("translate_circular", {"dy": 3, "dx": -2})])
def test_orthogonal_transforms_keep_the_noise_and_both_optima_are_equivariant(digits, name, values):
    r = report(digits, name, values)
    s = r.statistics
    assert abs(s.variance_ratio - 1) < EXACT and abs(s.variance_ratio_all - 1) < EXACT
    assert s.noise_free_fraction == 0 and abs(s.neighbour_correlation) < EXACT
    # T(sigma n) is a permutation of sigma n: the same values, moved
    eff, ref = (r.noisy_space - r.t_x0).ravel(), (r.noisy - r.x0).ravel()
    assert (eff.sort().values - ref.sort().values).abs().max() < 1e-12
    assert r.available and r.equivariance_error < EXACT
    assert report(digits, name, values, denoiser="clean").equivariance_error < EXACT


@pytest.mark.parametrize("a", [0.5, 1.5, 2.0])
def test_brightness_scales_the_noise_variance_by_a_squared(digits, a):
    r = report(digits, "brightness", {"a": a}, sigma=0.4)
    assert abs(r.statistics.variance_ratio - a * a) < 1e-9 and abs(r.statistics.variance_ratio_all - a * a) < 1e-9
    assert ((r.noisy_space - r.t_x0) - a * (r.noisy - r.x0)).abs().max() < 1e-12
    assert (r.effective - a * r.reference).abs().max() < 1e-12                   # every draw: T n = a n
    centres = (r.histogram["edges"][:-1] + r.histogram["edges"][1:]) / 2
    spread = [np.sqrt((h * centres ** 2).sum() / h.sum()) for h in (r.histogram["effective"], r.histogram["reference"])]
    assert (spread[0] > spread[1]) == (a > 1)


def test_noisy_space_optimum_is_equivariant_and_clean_space_is_not_for_brightness(digits):
    assert report(digits, "brightness", {"a": 1.8}, sigma=1.0).equivariance_error < EXACT
    assert report(digits, "brightness", {"a": 1.8}, sigma=1.0, denoiser="clean").equivariance_error > 1e-3


def test_bilinear_rotation_keeps_about_four_ninths_of_the_noise():
    split = load_data("digits:32", 8, n_heldout=1)
    data = (split.train.double(), split.heldout.double())
    for angle in (30.0, 45.0):
        r = report(data, "rotate", {"angle": angle})
        s = r.statistics
        assert abs(s.variance_ratio_interior - 4 / 9) < 0.02
        assert 0.38 < s.variance_ratio < 0.46 and s.neighbour_correlation > 0.2
        # the noisy-space optimum has no cheap exact form here: the report says so, with no numbers
        assert not r.available and "not available" in r.note and math.isnan(r.equivariance_error)
        assert r.error_map is None
    assert abs(report(data, "rotate_nearest", {"angle": 30.0}).statistics.variance_ratio_interior - 1) < EXACT
    assert abs(report(data, "rotate", {"angle": 0.0}).statistics.variance_ratio - 1) < EXACT


def test_cifar10_images(cifar_npz):
    split = load_data(f"cifar10:{cifar_npz}", 16, n_heldout=1)
    data = (split.train.double(), split.heldout.double())
    r = report(data, "brightness", {"a": 0.5}, sigma=0.2)
    assert r.x0.shape == (1, 3, 32, 32) and abs(r.statistics.variance_ratio - 0.25) < 1e-9
    assert r.equivariance_error < EXACT
    r = report(data, "translate", {"dy": 4, "dx": 0}, sigma=0.2)
    assert abs(r.statistics.noise_free_fraction - 4 / 32) < EXACT                    # four noise-free rows


def test_cutout_noisy_space_optimum_uses_the_noisy_pixels_only(digits):
    r = report(digits, "cutout", {"size": 0.5, "cy": 0.5, "cx": 0.5}, sigma=0.5)
    assert r.available and abs(r.statistics.noise_free_fraction - 0.25) < EXACT
    # independent posterior mean: likelihood of each training image over the pixels outside the square
    t = get_transform("cutout", "images")
    keep = ~t.mask(torch.tensor([[0.5, 0.5, 0.5]]), 8, 8)[0]                          # (8, 8)
    train = digits[0]
    y = r.noisy_space[0, 0]
    log_w = -((y - train[:, 0]) ** 2)[:, keep].sum(1) / (2 * 0.5 ** 2)
    expected = (torch.softmax(log_w, 0)[:, None, None] * train[:, 0]).sum(0) * keep
    assert (r.equivariance.transformed_input[0, 0] - expected).abs().max() < 1e-10


def test_report_refuses_bad_input(digits):
    t = transform_for("images", "rot90")
    train, x0 = digits
    params = t.params_from_controls({"k": 1})
    for sigma in (None, float("nan"), 0.0, -1.0):
        with pytest.raises(ValueError, match="sigma"):
            noise_report(t, params, x0, sigma, noise_draws(x0.shape, 2, 0))
    with pytest.raises(ValueError, match="noise must be"):
        noise_report(t, params, x0, 0.3, noise_draws((2, 1, 8, 8), 2, 0))
    with pytest.raises(ValueError, match="training set"):
        noise_report(t, params, x0, 0.3, noise_draws(x0.shape, 2, 0), denoiser="noisy")
    with pytest.raises(ValueError, match="expected a finite number"):
        t.params_from_controls({"k": None})


# --- noise_report on points --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def points():
    split = load_data("toy:gmm8", 64, n_heldout=64)
    return split.train.double(), split.heldout.double()


def test_point_clouds_and_the_non_linear_case(points):
    r = report(points, "shear", {"shear": 0.8}, kind="points")
    a = np.array([[1.0, 0.8], [0.0, 1.0]])
    assert r.noisy.shape == (64, 2) and r.statistics.exact
    assert abs(r.statistics.variance_ratio - np.trace(a @ a.T) / 2) < EXACT          # exact: A A^T
    assert r.equivariance_error < EXACT                                               # linear, invertible
    r = report(points, "tanh", {"strength": 2.0}, kind="points")
    assert r.equivariance_error > 1e-3 and "Jensen" in r.note                         # E[T x0|y] != T E[x0|y]
    assert not r.statistics.exact and r.statistics.variance_ratio < 1                # tanh squashes the noise
    assert r.error_map.shape == (64,)
    # at large sigma tanh(k y) rounds to 1 in float64, where T^-1 is infinite: said, not raised
    r = report(points, "tanh", {"strength": 3.0}, sigma=10.0, kind="points")
    assert not r.available and "saturates" in r.note
    assert report(points, "tanh", {"strength": 3.0}, sigma=10.0, denoiser="clean", kind="points").available


def test_a_model_can_replace_the_oracle(points):
    from scoreaug_lab.models import MLPDenoiser
    from scoreaug_lab.transforms import build_sampler
    sampler = build_sampler("rotate,scale", "points")
    torch.manual_seed(0)
    net = MLPDenoiser(width=16, depth=1, fourier_features=0, omega_dim=sampler.omega_dim)
    train, x0 = points
    t = transform_for("points", "rotate", sampler)
    assert t is sampler.transforms[0]                                       # the sampler's own instance
    params, noise = t.params_from_controls({"angle": 40.0}), noise_draws(x0.shape, 2, 0)
    with pytest.raises(ValueError, match="sampler"):
        noise_report(t, params, x0, 0.3, noise, denoiser=net)
    r = noise_report(t, params, x0, 0.3, noise, denoiser=net, sampler=sampler)
    assert r.available and np.isfinite(r.equivariance_error) and "not conditioned" not in r.note
    # an untrained, conditioned model is not equivariant; omega = 0 on both sides for a transform it never saw
    assert r.equivariance_error > 1e-4
    flip = transform_for("points", "flip", sampler)
    r = noise_report(flip, flip.params_from_controls({"flip": True}), x0, 0.3, noise, denoiser=net, sampler=sampler)
    assert r.available and "omega = 0 on both sides" in r.note
    # a model of points cannot denoise images: not available, no exception
    digits = load_data("digits:8", 4, n_heldout=1).heldout.double()
    rot = transform_for("images", "rot90")
    r = noise_report(rot, rot.params_from_controls({"k": 1}), digits, 0.3, noise_draws(digits.shape, 2, 0),
                     denoiser=net, sampler=sampler)
    assert not r.available and "cannot denoise" in r.note


# --- score_fields ------------------------------------------------------------------------------------------
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


def test_model_field_is_tweedie():
    mixture, (_, grid) = ring_mixture(), square_grid(1.6, 5)
    samples = mixture.sample(50, torch.Generator().manual_seed(0)).double()
    m = model_field(MixtureDenoiser(mixture), mixture, grid, samples, 0.3)
    # the true denoiser in float32: its Tweedie score is the closed-form score up to float32 round-off
    assert (m.score - mixture.score(grid, 0.3)).abs().max() < 1e-4 and m.relative_error < 1e-5
    with pytest.raises(ValueError, match="sigma"):
        model_field(MixtureDenoiser(mixture), mixture, grid, samples, float("nan"))


# --- sampler_report and the sampler's start noise ------------------------------------------------------------
def test_sampler_report():
    mixture = ring_mixture()
    g = torch.Generator().manual_seed(0)
    reference, train = mixture.sample(2000, g).float(), mixture.sample(32, g).float()
    r = sampler_report(MixtureDenoiser(mixture), range(300), reference, train, n_trajectories=4, num_steps=18)
    assert r.nfe == 35 and r.trajectories.shape == (4, 19, 2) and r.samples.shape == (300, 2)
    assert torch.equal(r.trajectories[:, 0], SeededNoise(range(4)).randn((2,)) * 80.0)   # the sampler's own start
    assert torch.equal(r.trajectories[:, -1], r.samples[:4])
    assert r.sliced_wasserstein < 0.1 and r.memorised_fraction < 0.5 and r.sigmas[-1] == 0
    for bad in (dict(churn=float("nan")), dict(rho=float("nan")), dict(sigma_max=None), dict(num_steps=0),
                dict(method="rk4"), dict(sigma_min=100.0)):
        with pytest.raises(ValueError):
            sampler_report(MixtureDenoiser(mixture), range(3), reference, train, **bad)
