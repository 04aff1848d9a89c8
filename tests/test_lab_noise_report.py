"""lab.noise_report: white noise under each transform and the optima's equivariance, against closed forms."""
import math

import numpy as np
import pytest
import torch

from scoreaug_lab.data import load_data
from scoreaug_lab.lab.noise_report import noise_draws, noise_report, transform_for
from scoreaug_lab.transforms import get_transform

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


def test_noise_draws_read_whole_numbers_only():
    ref = noise_draws((2, 3), 4, 7)
    assert torch.equal(noise_draws((np.int64(2), 3), np.int64(4), np.int32(7)), ref)
    assert torch.equal(noise_draws((2, 3), 4.0, 7), ref) and ref.shape == (4, 2, 3)
    for kwargs, match in ((dict(n_draws=0), "n_draws must be >= 1"), (dict(n_draws=2.5), "n_draws must be a whole"),
                          (dict(seed=-1), "seed must be in"), (dict(shape=(2, 0)), "shape must be >= 1")):
        args = {"shape": (2, 3), "n_draws": 4, "seed": 7, **kwargs}
        with pytest.raises(ValueError, match=match):
            noise_draws(**args)
