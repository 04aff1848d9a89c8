"""TransformExplorer, ScoreFieldExplorer and SamplerExplorer driven headless: set a control's `.value`, then
check the numbers behind the figures against the mathematics (closed forms, white_noise_response,
autograd) and that the figures are updated in place."""
import math

import numpy as np
import pytest
import torch

from scoreaug_lab.data import ring_mixture
from scoreaug_lab.transforms import get_transform, registry
from scoreaug_lab.transforms.images import ImageTransform, white_noise_response
from scoreaug_lab.widgets import SamplerExplorer, ScoreFieldExplorer, TransformExplorer
from scoreaug_lab.widgets.arrows import arrow_segments
from scoreaug_lab.widgets.noise_stats import image_noise_summary
from scoreaug_lab.widgets.sampler_explorer import IDEAL, TRUE
from scoreaug_lab.widgets.transform_explorer import CLEAN_ORACLE, NOISY_ORACLE

EXACT = 1e-10


@pytest.fixture(scope="module")
def explorer():
    """Small and offline: 8x8 digits, no CIFAR-10, a small oracle training set."""
    return TransformExplorer(data="digits", digits_size=8, cifar_path=False, n_train=24, n_points=64)


def set_values(app, **values):
    with app.hold():
        for name, value in values.items():
            app.controls[name].value = value
    assert app.last_error is None, app.last_error


# --- noise statistics ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(registry("images")))
def test_fast_noise_statistics_equal_the_full_basis(name):
    t = get_transform(name, "images")
    g = torch.Generator().manual_seed(3)
    for _ in range(3):
        params = t.sample_params(1, g).double()
        h, w = (16, 16) if name == "rot90" else (16, 12)                       # rot90 needs squares
        fast = image_noise_summary(t, params, h, w)
        full = white_noise_response(t, params, h, w)
        assert fast.method == "probes"
        assert (fast.variance - full.variance).abs().max() < 1e-12
        assert (fast.corr_right - full.corr_right).abs().max() < 1e-12
        assert (fast.corr_down - full.corr_down).abs().max() < 1e-12


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


def test_noise_statistics_fall_back_to_the_basis_for_wide_transforms():
    t = BoxBlur()
    fast = image_noise_summary(t, torch.zeros(1, 1), 8, 8)
    full = white_noise_response(t, torch.zeros(1, 1), 8, 8)
    assert fast.method == "basis"
    assert (fast.variance - full.variance).abs().max() < 1e-12
    assert abs(fast.variance[3, 3].item() - 1 / 9) < 1e-12        # interior: 9 weights of 1/9


# --- TransformExplorer -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, values", [
    ("rot90", {"k": 1}), ("rot90", {"k": 3}), ("xflip", {"flip": True}), ("yflip", {"flip": True}),
    ("translate_circular", {"dy": 3, "dx": -2})])
def test_orthogonal_transforms_keep_the_noise_variance(explorer, name, values):
    set_values(explorer, data="digits", transform=name, denoiser=NOISY_ORACLE, **values)
    s = explorer.state
    assert abs(s["variance_ratio"] - 1) < EXACT and abs(s["variance_ratio_all"] - 1) < EXACT
    assert s["noise_free_fraction"] == 0 and abs(s["neighbour_correlation"]) < EXACT
    # the noisy-space and clean-space images hold the same noise, moved: T(sigma n) is a permutation of sigma n
    eff = (s["noisy_space"] - s["t_x0"]).ravel()
    ref = (s["noisy"] - s["x0"]).ravel()
    assert np.abs(np.sort(eff) - np.sort(ref)).max() < 1e-12
    # the ScoreAug optimum is exactly equivariant; so is the clean-space one (the schemes coincide)
    assert s["oracle_available"] and s["equivariance_error"] < EXACT
    set_values(explorer, denoiser=CLEAN_ORACLE)
    assert explorer.state["equivariance_error"] < EXACT


@pytest.mark.parametrize("a", [0.5, 1.5, 2.0])
def test_brightness_scales_the_noise_variance_by_a_squared(explorer, a):
    set_values(explorer, data="digits", transform="brightness", a=a, sigma=0.4, denoiser=NOISY_ORACLE)
    s = explorer.state
    assert abs(s["variance_ratio"] - a * a) < 1e-9 and abs(s["variance_ratio_all"] - a * a) < 1e-9
    assert np.abs((s["noisy_space"] - s["t_x0"]) - a * (s["noisy"] - s["x0"])).max() < 1e-12
    # effective noise histogram: a wider (a > 1) or narrower spread than the reference
    centres = (s["noise_hist"]["edges"][:-1] + s["noise_hist"]["edges"][1:]) / 2
    spread = [np.sqrt((h * centres ** 2).sum() / h.sum()) for h in (s["noise_hist"]["effective"],
                                                                      s["noise_hist"]["reference"])]
    assert (spread[0] > spread[1]) == (a > 1)


def test_noisy_space_optimum_is_equivariant_and_clean_space_is_not_for_brightness(explorer):
    set_values(explorer, data="digits", transform="brightness", a=1.8, sigma=1.0, denoiser=NOISY_ORACLE)
    assert explorer.state["oracle_available"] and explorer.state["equivariance_error"] < EXACT
    set_values(explorer, denoiser=CLEAN_ORACLE)
    assert explorer.state["equivariance_error"] > 1e-3


def test_bilinear_rotation_keeps_about_four_ninths_of_the_noise():
    app = TransformExplorer(data="digits:32", cifar_path=False, n_train=8, transform="rotate")
    for angle in (30.0, 45.0):
        set_values(app, angle=angle)
        s = app.state
        assert abs(s["variance_ratio_interior"] - 4 / 9) < 0.02
        assert 0.38 < s["variance_ratio"] < 0.46 and s["neighbour_correlation"] > 0.2
        # the noisy-space optimum has no cheap exact form here: the widget says so
        assert not s["oracle_available"] and "not available" in s["oracle_note"]
    set_values(app, transform="rotate_nearest", angle=30.0)
    assert abs(app.state["variance_ratio_interior"] - 1) < EXACT
    set_values(app, transform="rotate", angle=0.0)
    assert abs(app.state["variance_ratio"] - 1) < EXACT


def test_cifar10_images(cifar_npz):
    app = TransformExplorer(data="cifar10", cifar_path=cifar_npz, n_train=16, transform="brightness")
    set_values(app, a=0.5, sigma=0.2)
    s = app.state
    assert s["x0"].shape == (1, 3, 32, 32) and abs(s["variance_ratio"] - 0.25) < 1e-9
    assert s["equivariance_error"] < EXACT
    set_values(app, transform="translate", dy=4, dx=0)
    assert abs(app.state["noise_free_fraction"] - 4 / 32) < EXACT                    # four noise-free rows


def test_cutout_noisy_space_optimum_uses_the_noisy_pixels_only(explorer):
    set_values(explorer, data="digits", transform="cutout", size=0.5, cy=0.5, cx=0.5, sigma=0.5,
               denoiser=NOISY_ORACLE)
    s = explorer.state
    assert s["oracle_available"] and abs(s["noise_free_fraction"] - 0.25) < EXACT
    # independent posterior mean: likelihood of each training image over the pixels outside the square
    t = get_transform("cutout", "images")
    params = torch.tensor([[0.5, 0.5, 0.5]])
    keep = ~t.mask(params, 8, 8)[0]                                                   # (8, 8)
    train = explorer._dataset("digits")["train"]                                      # (N, 1, 8, 8)
    y = torch.from_numpy(s["noisy_space"])[0, 0]
    log_w = -((y - train[:, 0]) ** 2)[:, keep].sum(1) / (2 * 0.5 ** 2)
    expected = (torch.softmax(log_w, 0)[:, None, None] * train[:, 0]).sum(0) * keep
    assert np.abs(s["denoised_transformed"][0, 0] - expected.numpy()).max() < 1e-10


def test_sigma_changes_the_noisy_image_in_place(explorer):
    set_values(explorer, data="digits", transform="rot90", k=1, sigma=0.1)
    views = explorer.figures["views"]
    figures = dict(explorer.figures)
    traces = [id(tr) for tr in views.data]
    before = [views.data[i].source for i in range(4)]                                 # PNG data URIs
    noise = explorer.state["noisy"] - explorer.state["x0"]
    set_values(explorer, sigma=0.8)
    s = explorer.state
    assert np.abs((s["noisy"] - s["x0"]) - 8 * noise).max() < 1e-12                 # same draw, 8x the level
    after = [views.data[i].source for i in range(4)]
    assert before[0] == after[0]                                                      # x0 unchanged
    assert all(before[i] != after[i] for i in (1, 2, 3))
    # the picture shown is the state's noisy image (decoded from the PNG, upscaled by an integer factor)
    import base64
    import io
    from PIL import Image
    from scoreaug_lab.widgets.transform_explorer import to_rgb
    shown = np.array(Image.open(io.BytesIO(base64.b64decode(after[1].split(",", 1)[1]))))
    f = shown.shape[0] // 8
    assert np.array_equal(shown[::f, ::f], to_rgb(torch.from_numpy(s["noisy"][0])))
    assert explorer.figures == figures and all(explorer.figures[k] is figures[k] for k in figures)
    assert [id(tr) for tr in views.data] == traces


def test_point_clouds_and_the_non_linear_case(explorer):
    set_values(explorer, data="toy:gmm8", transform="shear", shear=0.8, sigma=0.3, denoiser=NOISY_ORACLE)
    s = explorer.state
    assert s["kind"] == "points" and s["noisy"].shape == (64, 2)
    a = np.array([[1.0, 0.8], [0.0, 1.0]])
    assert abs(s["variance_ratio"] - np.trace(a @ a.T) / 2) < EXACT                 # exact: A A^T
    assert s["equivariance_error"] < EXACT                                           # linear, invertible
    assert explorer.figures["views"].data[8].visible and not explorer.figures["views"].data[0].visible
    set_values(explorer, transform="tanh", strength=2.0)
    s = explorer.state
    assert s["equivariance_error"] > 1e-3 and "Jensen" in s["oracle_note"]            # E[T x0|y] != T E[x0|y]
    assert not s["noise_stats_exact"] and s["variance_ratio"] < 1                     # tanh squashes the noise
    set_values(explorer, data="digits")
    assert explorer.state["kind"] == "images" and "rot90" in explorer.controls["transform"].options


def test_a_model_can_replace_the_oracle():
    from scoreaug_lab.models import MLPDenoiser
    from scoreaug_lab.transforms import build_sampler
    sampler = build_sampler("rotate,scale", "points")
    torch.manual_seed(0)
    net = MLPDenoiser(width=16, depth=1, fourier_features=0, omega_dim=sampler.omega_dim)
    with pytest.raises(ValueError, match="sampler"):
        TransformExplorer(data="toy:gmm8", model=net, cifar_path=False)
    app = TransformExplorer(data="toy:gmm8", model=net, sampler=sampler, cifar_path=False, n_points=32,
                            transform="rotate")
    set_values(app, denoiser="model")
    s = app.state
    assert s["oracle_available"] and np.isfinite(s["equivariance_error"])
    set_values(app, data="digits")                                         # the model cannot denoise images
    assert not app.state["oracle_available"] and app.last_error is None


# --- ScoreFieldExplorer ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def field():
    return ScoreFieldExplorer(grid_size=9, density_size=16, n_samples=100, train_steps=40)


def _rotation(theta):
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


@pytest.mark.parametrize("name, values, matrix", [
    ("rotate", {"angle": 50.0}, _rotation(math.radians(50))),
    ("rot90", {"k": 1}, _rotation(math.pi / 2)),
    ("flip", {"flip": True}, np.diag([-1.0, 1.0]))])
def test_score_of_an_orthogonal_transform_is_the_rotated_field(field, name, values, matrix):
    set_values(field, transform=name, sigma=0.3, **values)
    s = field.state
    y = torch.from_numpy(s["grid"])
    expected = ring_mixture().score(y.numpy() @ matrix, 0.3).numpy() @ matrix.T      # T s(T^T y)
    assert s["valid"].all()
    assert np.abs(s["transformed_score"] - expected).max() < 1e-9
    assert np.abs(s["jacobian_term"]).max() < 1e-12 and s["check_max_abs_diff"] < 1e-9


def test_scaling_and_shear(field):
    set_values(field, transform="scale", a=1.5, sigma=0.2)
    s = field.state
    expected = ring_mixture().score(s["grid"] / 1.5, 0.2).numpy() / 1.5             # s(y / a) / a
    assert np.abs(s["transformed_score"] - expected).max() < 1e-9
    assert np.abs(s["jacobian_term"]).max() < 1e-12
    set_values(field, transform="shear", shear=0.7)
    assert np.abs(field.state["jacobian_term"]).max() < 1e-12 and field.state["check_max_abs_diff"] < 1e-9


def test_jacobian_term_of_tanh_matches_autograd(field):
    k, sigma = 1.2, 0.25
    set_values(field, transform="tanh", strength=k, sigma=sigma)
    s = field.state
    valid = s["valid"]
    assert valid.any() and not valid.all()                                           # |y| < 1/k only
    assert s["jacobian_max"] > 0.1 and np.isnan(s["transformed_score"][~valid]).all()
    # independent: log p_Y(y) = log p_sigma(atanh(k y) / k) - sum log(1 - (k y)^2), by torch.autograd
    y = torch.tensor(s["grid"][valid], requires_grad=True)
    volume = -torch.log1p(-(k * y) ** 2).sum()
    (grad_volume,) = torch.autograd.grad(volume, y)
    assert np.abs(s["jacobian_term"][valid] - grad_volume.numpy()).max() < 1e-9
    y2 = y.detach().clone().requires_grad_(True)
    log_p = ring_mixture().log_prob(torch.atanh(k * y2) / k, sigma) - torch.log1p(-(k * y2) ** 2).sum(1)
    (grad,) = torch.autograd.grad(log_p.sum(), y2)
    assert np.abs(s["transformed_score"][valid] - grad.numpy()).max() < 1e-8
    set_values(field, transform="quadratic_shear", curvature=0.9)                    # non-linear, det J = 1
    assert field.state["jacobian_max"] < 1e-12 and field.state["check_max_abs_diff"] < 1e-8


def test_score_field_model_on_demand_updates_in_place(field):
    fig = field.figures["fields"]
    traces = [id(tr) for tr in fig.data]
    assert field.state["model_score"] is None and len(fig.data[9].x) == 0
    field.train_model(steps=30)
    s = field.state
    assert s["model_source"] == "trained" and np.isfinite(s["model_score"]).all()
    assert np.isfinite(s["model_relative_error"]) and len(fig.data[9].x) > 0
    x_before = np.array(fig.data[5].x).copy()
    set_values(field, transform="rotate", angle=20.0)
    assert not np.array_equal(np.array(fig.data[5].x), x_before, equal_nan=True)
    assert field.figures["fields"] is fig and [id(tr) for tr in fig.data] == traces
    set_values(field, show_jacobian=False, show_check=False, show_density=False)
    assert not fig.data[7].visible and not fig.data[6].visible and not fig.data[0].visible


def test_arrow_segments():
    x, y = arrow_segments(np.zeros((3, 2)), np.array([[1.0, 0], [0, 0], [0, 5.0]]), max_length=0.1, reference=1.0)
    assert len(x) == 2 * 7                                                            # the zero vector is dropped
    assert abs(x[1] - 0.1) < 1e-12 and abs(y[8] - 0.1) < 1e-12                      # clipped to max_length
    assert np.isnan(x[2]) and np.isnan(x[6])


# --- SamplerExplorer -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sampler_app():
    return SamplerExplorer(n_samples=200, n_trajectories=4, max_samples=400, max_steps=40)


def test_sampler_positions_change_with_steps_and_are_reproducible(sampler_app):
    app = sampler_app
    set_values(app, denoiser=TRUE, steps=18, method="heun", churn=0.0, seed=0)
    first = app.state["samples"].copy()
    assert app.state["nfe"] == 35 and app.state["trajectories"].shape == (4, 19, 2)
    assert app.state["sliced_wasserstein"] < 0.1                                     # the true denoiser
    set_values(app, steps=6)
    assert app.state["nfe"] == 11 and np.abs(app.state["samples"] - first).max() > 1e-3
    set_values(app, method="euler")
    assert app.state["nfe"] == 6
    set_values(app, steps=18, method="heun")
    assert np.array_equal(app.state["samples"], first)                               # same seeds, same samples
    set_values(app, n_samples=300)
    assert app.state["samples"].shape == (300, 2) and np.array_equal(app.state["samples"][:200], first)
    set_values(app, seed=1, n_samples=200)
    assert np.abs(app.state["samples"] - first).max() > 1e-3
    set_values(app, seed=0, churn=10.0)
    churned = app.state["samples"].copy()
    assert np.abs(churned - first).max() > 1e-3
    set_values(app, churn=0.0)
    set_values(app, churn=10.0)
    assert np.array_equal(app.state["samples"], churned)                             # churn noise is seeded too


def test_sampler_with_the_ideal_denoiser_memorises(sampler_app):
    fig = sampler_app.figures["samples"]
    traces = [id(tr) for tr in fig.data]
    set_values(sampler_app, denoiser=IDEAL, churn=0.0, steps=18, sigma_min=0.002, rho=7.0)
    assert sampler_app.state["memorised_fraction"] > 0.95
    assert len(fig.data[2].x) == sampler_app.state["samples"].shape[0]
    assert sampler_app.figures["samples"] is fig and [id(tr) for tr in fig.data] == traces
    set_values(sampler_app, denoiser=TRUE)
    assert sampler_app.state["memorised_fraction"] < 0.5


# --- robustness: 1,000 rapid random changes each -------------------------------------------------------
def random_value(control, rng):
    import ipywidgets as W
    if isinstance(control, W.Dropdown):
        return control.options[rng.integers(len(control.options))]
    if isinstance(control, W.Checkbox):
        return bool(rng.integers(2))
    if isinstance(control, W.FloatLogSlider):
        return float(control.base ** rng.uniform(control.min, control.max))
    if isinstance(control, W.IntSlider):
        return int(rng.integers(control.min, control.max + 1))
    if isinstance(control, W.FloatSlider):
        return float(rng.uniform(control.min, control.max))
    raise AssertionError(f"no random value for {type(control).__name__}")


def assert_json_safe(fig):
    """What the front end receives (plotly's widget serializer) is valid JSON: no NaN outside binary buffers."""
    import json
    from plotly.serializers import _py_to_js

    def strip(obj):
        if isinstance(obj, dict):
            return None if "buffer" in obj else {k: strip(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    json.dumps(strip(_py_to_js({"data": fig._data, "layout": fig._layout}, None)), allow_nan=False)


def fuzz(app, n, seed=0):
    rng = np.random.default_rng(seed)
    names = list(app.controls)
    figures = {k: (v, [id(tr) for tr in v.data]) for k, v in app.figures.items()}
    for _ in range(n):
        name = names[rng.integers(len(names))]
        app.controls[name].value = random_value(app.controls[name], rng)
    assert app.errors == [], app.errors[:3]
    assert app.last_error is None
    for k, (fig, traces) in figures.items():
        assert app.figures[k] is fig and [id(tr) for tr in fig.data] == traces
        assert_json_safe(fig)


@pytest.mark.slow
def test_transform_explorer_survives_a_thousand_random_changes():
    fuzz(TransformExplorer(data="digits", digits_size=8, cifar_path=False, n_train=12, n_points=32,
                           n_noise_draws=2), 1000, seed=1)


@pytest.mark.slow
def test_score_field_explorer_survives_a_thousand_random_changes():
    fuzz(ScoreFieldExplorer(grid_size=5, density_size=8, n_samples=20), 1000, seed=2)


@pytest.mark.slow
def test_sampler_explorer_survives_a_thousand_random_changes():
    fuzz(SamplerExplorer(n_samples=16, n_trajectories=2, steps=6, max_samples=32, max_steps=8, n_reference=200),
         1000, seed=3)
