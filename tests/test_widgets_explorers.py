"""The explorers driven headless: set a control's `.value`, then check that the widget shows what the library
computes (tests/test_explorer_library.py checks the library against the mathematics), that its figures are updated
in place (traces by name), that sliders hold the values they are given, and that bad values are refused."""
import base64
import io

import ipywidgets as W
import numpy as np
import pytest
import torch
from PIL import Image
from traitlets import TraitError

from scoreaug_lab.data import ring_mixture
from scoreaug_lab.denoiser import as_denoiser
from scoreaug_lab.runs.store import get_store
from scoreaug_lab.widgets import (ImageTransformExplorer, PointTransformExplorer, SamplerExplorer, ScoreFieldExplorer,
                                  TransformExplorer)
from scoreaug_lab.widgets.arrows import arrow_segments
from scoreaug_lab.widgets.param_sliders import round_values, value_slider
from scoreaug_lab.widgets.pictures import to_rgb
from scoreaug_lab.widgets.sampler_explorer import IDEAL, TRUE

EXACT = 1e-10


@pytest.fixture(scope="module")
def explorer():
    """Small and offline: 8x8 digits, no CIFAR-10, a small oracle training set."""
    return ImageTransformExplorer(data="digits", digits_size=8, cifar_path=False, n_train=24)


@pytest.fixture(scope="module")
def points():
    return PointTransformExplorer(n_points=64)


def set_values(app, **values):
    with app.hold():
        for name, value in values.items():
            app.controls[name].value = value
    assert app.last_error is None, app.last_error


# --- sliders hold exact values ---------------------------------------------------------------------------
def test_sliders_hold_the_values_they_are_given():
    assert {0.01, 0.3, 1.5, 80.0, 100.0} <= set(round_values(0.01, 100.0))
    assert value_slider("s", 0.37, 0.01, 1.0).value == 0.37                      # not round: added to the options
    app = ImageTransformExplorer(digits_size=8, cifar_path=False, n_train=4, sigma=0.3)
    sigma = app.controls["sigma"]
    assert sigma.value == 0.3 and 0.3 in [v for _, v in sigma.options] and sigma.label == "0.3"
    sampler = SamplerExplorer(n_samples=8, n_trajectories=1, steps=2, n_reference=50)
    assert sampler.controls["sigma_max"].value == 80.0 and sampler.controls["sigma_min"].value == 0.002
    assert sampler.state["sigma_max"] == 80.0 and sampler.state["sigmas"][0] == 80.0
    assert ScoreFieldExplorer(grid_size=3, density_size=3, n_samples=5, sigma=0.2).controls["sigma"].value == 0.2
    with pytest.raises(ValueError):
        value_slider("sigma", float("nan"), 0.01, 10.0)


# --- the image explorer ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, values", [("rot90", {"k": 1}), ("xflip", {"flip": True}),
                                          ("translate_circular", {"dy": 3, "dx": -2})])
def test_orthogonal_transforms_keep_the_noise_variance(explorer, name, values):
    set_values(explorer, transform=name, denoiser="noisy", **values)
    s, r = explorer.state, explorer.report
    assert abs(s["variance_ratio"] - 1) < EXACT and abs(r.statistics.variance_ratio_all - 1) < EXACT
    assert r.statistics.noise_free_fraction == 0 and abs(s["neighbour_correlation"]) < EXACT
    assert s["available"] and s["equivariance_error"] < EXACT
    set_values(explorer, denoiser="clean")
    assert explorer.state["equivariance_error"] < EXACT


@pytest.mark.parametrize("a", [0.5, 1.5, 2.0])
def test_brightness_scales_the_noise_variance_by_a_squared(explorer, a):
    set_values(explorer, transform="brightness", a=a, sigma=0.4, denoiser="noisy")
    r = explorer.report
    assert abs(explorer.state["variance_ratio"] - a * a) < 1e-9
    assert ((r.noisy_space - r.t_x0) - a * (r.noisy - r.x0)).abs().max() < 1e-12
    assert explorer.state["equivariance_error"] < EXACT
    # titles say what the sliders say, not internal parameters (log a)
    assert explorer.state["title"] == f"brightness: a = {a:.3g}, σ = 0.4"
    assert explorer.figures["views"].layout.title.text.startswith(explorer.state["title"])
    assert f"variance ratio <b>{a * a:.4f}</b>" in explorer.info.value
    set_values(explorer, denoiser="clean", sigma=1.0)
    assert explorer.state["equivariance_error"] > 1e-3


def test_an_unavailable_denoiser_is_said_in_place_of_its_panels():
    app = ImageTransformExplorer(data="digits:32", cifar_path=False, n_train=8, transform="rotate")
    eq = app.figures["equivariance"]
    note = next(eq.select_annotations(selector=dict(name="unavailable")))
    for angle in (30.0, 45.0):
        set_values(app, angle=angle)
        r = app.report
        assert abs(r.statistics.variance_ratio_interior - 4 / 9) < 0.02 and 0.38 < app.state["variance_ratio"] < 0.46
        assert not app.state["available"] and "not available" in app.state["note"]
        assert note.visible and "not available" in note.text and "nan" not in app.info.value
        assert not any(eq.select_traces(selector=dict(visible=True)))
    set_values(app, denoiser="clean")                                        # a combination that works
    assert app.state["available"] and not note.visible and all(tr.visible for tr in eq.data)
    set_values(app, transform="rotate_nearest", angle=30.0)
    assert abs(app.report.statistics.variance_ratio_interior - 1) < EXACT
    set_values(app, transform="rotate", angle=0.0)
    assert abs(app.state["variance_ratio"] - 1) < EXACT


def test_cifar10_images(cifar_npz):
    app = TransformExplorer(data="cifar10", cifar_path=cifar_npz, n_train=16, transform="brightness")
    assert isinstance(app, ImageTransformExplorer)
    set_values(app, a=0.5, sigma=0.2)
    assert app.report.x0.shape == (1, 3, 32, 32) and abs(app.state["variance_ratio"] - 0.25) < 1e-9
    assert app.state["equivariance_error"] < EXACT
    set_values(app, transform="translate", dy=4, dx=0)
    assert abs(app.report.statistics.noise_free_fraction - 4 / 32) < EXACT                # four noise-free rows


def test_sigma_changes_the_noisy_image_in_place(explorer):
    set_values(explorer, transform="rot90", k=1, sigma=0.1)
    views, figures = explorer.figures["views"], dict(explorer.figures)
    traces = [id(tr) for tr in views.data]
    names = ["x0", "noisy", "noisy_space", "clean_space"]
    before = [explorer.traces[n].source for n in names]                                # PNG data URIs
    noise = explorer.report.noisy - explorer.report.x0
    set_values(explorer, sigma=0.8)
    r = explorer.report
    assert ((r.noisy - r.x0) - 8 * noise).abs().max() < 1e-12                       # same draw, 8x the level
    after = [explorer.traces[n].source for n in names]
    assert before[0] == after[0] and all(before[i] != after[i] for i in (1, 2, 3))   # x0 unchanged
    # the picture shown is the report's noisy image (decoded from the PNG, upscaled by an integer factor)
    shown = np.array(Image.open(io.BytesIO(base64.b64decode(after[1].split(",", 1)[1]))))
    f = shown.shape[0] // 8
    assert np.array_equal(shown[::f, ::f], to_rgb(r.noisy[0]))
    assert explorer.figures == figures and all(explorer.figures[k] is figures[k] for k in figures)
    assert [id(tr) for tr in views.data] == traces and views.data[1] is explorer.traces["noisy"]


def test_invalid_values_are_refused_and_the_widget_stays_usable(explorer, points):
    set_values(explorer, transform="rotate", angle=20.0)
    explorer.controls["angle"].value = float("nan")
    assert "angle: nan is not a finite number; kept 20.0" in explorer.last_error
    assert "refused" in explorer.status.value and explorer.controls["angle"].value == 20.0   # the good value is back
    with pytest.raises(TraitError):
        explorer.controls["angle"].value = None
    with pytest.raises(TraitError):
        explorer.controls["sigma"].value = float("nan")                       # not one of the slider's values
    set_values(explorer, angle=25.0)
    assert explorer.status.value == "" and explorer.state["title"].startswith("rotate: θ = 25°")
    set_values(points, transform="tanh", strength=1.0)
    points.controls["strength"].value = float("nan")
    assert "strength: nan is not a finite number" in points.last_error and points.controls["strength"].value == 1.0
    set_values(points, strength=1.5)
    assert points.state["title"].startswith("tanh: k = 1.5")


# --- the point explorer --------------------------------------------------------------------------------------
def test_point_clouds_and_the_non_linear_case(points):
    set_values(points, data="toy:gmm8", transform="shear", shear=0.8, sigma=0.3, denoiser="noisy")
    a = np.array([[1.0, 0.8], [0.0, 1.0]])
    assert points.report.noisy.shape == (64, 2)
    assert abs(points.state["variance_ratio"] - np.trace(a @ a.T) / 2) < EXACT        # exact: A A^T
    assert points.state["equivariance_error"] < EXACT                                 # linear, invertible
    set_values(points, data="toy:moons", transform="tanh", strength=2.0)
    s = points.state
    assert s["equivariance_error"] > 1e-3 and "Jensen" in s["note"]                  # E[T x0|y] != T E[x0|y]
    assert not points.report.statistics.exact and s["variance_ratio"] < 1             # tanh squashes the noise
    # its own titles and axes: short, nothing about pixels, no upside-down axis
    noise = points.figures["noise"]
    texts = [a.text for a in noise.layout.annotations] + [noise.layout.title.text]
    assert all("pixel" not in t for t in texts) and "Monte Carlo" in noise.layout.title.text
    for fig in points.figures.values():
        for text in [a.text for a in fig.layout.annotations if a.name != "unavailable"] + [fig.layout.title.text]:
            assert all(len(line) <= 60 for line in text.replace("<sup>", "").replace("</sup>", "").split("<br>"))
        assert all(fig.layout[k].autorange != "reversed" for k in fig.layout if k.startswith("yaxis"))


def test_the_factory_and_a_model_in_the_point_explorer():
    from scoreaug_lab.models import MLPDenoiser
    from scoreaug_lab.transforms import build_sampler
    assert isinstance(TransformExplorer(data="toy:gmm8", n_points=8, n_train=4), PointTransformExplorer)
    sampler = build_sampler("rotate,scale", "points")
    torch.manual_seed(0)
    net = MLPDenoiser(width=16, depth=1, fourier_features=0, omega_dim=sampler.omega_dim)
    with pytest.raises(ValueError, match="sampler"):
        PointTransformExplorer(model=net)
    app = PointTransformExplorer(model=net, sampler=sampler, n_points=32, transform="rotate", denoiser="model")
    assert app.state["available"] and np.isfinite(app.state["equivariance_error"])
    images = ImageTransformExplorer(model=net, sampler=sampler, denoiser="model", digits_size=8, cifar_path=False,
                                    n_train=4)                          # a points model cannot denoise images
    assert not images.state["available"] and images.last_error is None and "cannot denoise" in images.state["note"]


# --- ScoreFieldExplorer ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def field(tmp_path_factory):
    return ScoreFieldExplorer(grid_size=9, density_size=16, n_samples=100, train_steps=40,
                              store=get_store(tmp_path_factory.mktemp("runs")))


def test_score_field_shows_the_library_fields(field):
    set_values(field, transform="rotate", angle=50.0, sigma=0.3)
    s = field.state
    theta = np.radians(50)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    expected = ring_mixture().score(torch.from_numpy(s["grid"] @ rot), 0.3).numpy() @ rot.T     # T s(T^T y)
    assert s["valid"].all() and np.abs(s["transformed_score"] - expected).max() < 1e-9
    assert np.abs(s["jacobian_term"]).max() < 1e-12 and s["check_max_abs_diff"] < 1e-9
    set_values(field, transform="tanh", strength=1.2, sigma=0.25)
    s = field.state
    assert not s["valid"].all() and s["jacobian_max"] > 0.1 and s["check_max_abs_diff"] < 1e-8
    assert "tanh: k = 1.2" in field.figures["fields"].layout.annotations[1].text


def test_score_field_model_on_demand_updates_in_place(field):
    fig, tr = field.figures["fields"], field.traces
    traces = [id(t) for t in fig.data]
    assert field.state["model_score"] is None and len(tr["model"].x) == 0
    model = field.train_model(steps=30)                               # the recipe, through the run store
    s = field.state
    assert model is field.model and s["model_source"] == "trained" and len(tr["model"].x) > 0
    # oracle: Tweedie written out, (D(y; sigma) - y) / sigma^2, on the grid and at the noisy samples
    sigma = s["sigma"]

    @torch.no_grad()
    def tweedie(y):
        return (as_denoiser(model)(y.float(), torch.full((len(y),), sigma)).double() - y) / sigma ** 2
    assert np.abs(s["model_score"] - tweedie(field.grid).numpy()).max() < 1e-3 * (1 + np.abs(s["model_score"]).max())
    y = field.x0 + sigma * field.noise
    truth = ring_mixture().score(y, sigma)
    expected = ((tweedie(y) - truth).pow(2).sum(1).mean() / truth.pow(2).sum(1).mean()).sqrt().item()
    assert s["model_relative_error"] == pytest.approx(expected, rel=1e-4)
    x_before = np.array(tr["pushforward"].x).copy()
    set_values(field, transform="rotate", angle=20.0)
    assert not np.array_equal(np.array(tr["pushforward"].x), x_before, equal_nan=True)
    assert field.figures["fields"] is fig and [id(t) for t in fig.data] == traces
    set_values(field, show_jacobian=False, show_check=False, show_density=False)
    assert not tr["jacobian"].visible and not tr["check"].visible and not tr["log_p"].visible
    field.buttons["train"].click()                                    # in the background: the widget stays usable
    set_values(field, sigma=0.5)
    assert field.trainer.wait(120) and field.last_error is None and field.model_source == "trained"
    assert "model:" in field.train_status.value


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
    app.controls["rho"].value = float("nan")
    assert "rho: nan is not a finite number" in app.last_error and app.controls["rho"].value == 7.0
    assert np.array_equal(app.state["samples"], churned)                             # the view is unchanged
    set_values(app, rho=7.0, churn=0.0)


def test_sampler_with_the_ideal_denoiser_memorises(sampler_app):
    fig = sampler_app.figures["samples"]
    traces = [id(tr) for tr in fig.data]
    set_values(sampler_app, denoiser=IDEAL, churn=0.0, steps=18, sigma_min=0.002, rho=7.0)
    assert sampler_app.state["memorised_fraction"] > 0.95
    assert len(sampler_app.traces["samples"].x) == sampler_app.state["samples"].shape[0]
    assert np.allclose(sampler_app.traces["ends"].x, sampler_app.state["samples"][:4, 0])
    assert sampler_app.figures["samples"] is fig and [id(tr) for tr in fig.data] == traces
    set_values(sampler_app, denoiser=TRUE)
    assert sampler_app.state["memorised_fraction"] < 0.5


# --- robustness: 1,000 rapid random changes each -------------------------------------------------------
def random_value(control, rng):
    if isinstance(control, (W.Dropdown, W.SelectionSlider)):
        return control.options[rng.integers(len(control.options))][1] if isinstance(control.options[0], tuple) \
            else control.options[rng.integers(len(control.options))]
    if isinstance(control, W.Checkbox):
        return bool(rng.integers(2))
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
def test_transform_explorers_survive_a_thousand_random_changes():
    fuzz(ImageTransformExplorer(data="digits", digits_size=8, cifar_path=False, n_train=12, n_noise_draws=2), 1000,
         seed=1)
    fuzz(PointTransformExplorer(n_train=12, n_points=32, n_noise_draws=2), 1000, seed=4)


@pytest.mark.slow
def test_score_field_explorer_survives_a_thousand_random_changes():
    fuzz(ScoreFieldExplorer(grid_size=5, density_size=8, n_samples=20), 1000, seed=2)


@pytest.mark.slow
def test_sampler_explorer_survives_a_thousand_random_changes():
    fuzz(SamplerExplorer(n_samples=16, n_trajectories=2, steps=6, max_samples=32, max_steps=8, n_reference=200),
         1000, seed=3)
