"""Bad values into the Python API: a ValueError (or TypeError) that names the argument, raised where the value
enters, never a NaN result; widgets refuse what they cannot show and stay usable."""
import math

import numpy as np
import pytest
import torch

from scoreaug_lab.diffusion import diffusion_loss, draw_training_randomness, edm_coefficients
from scoreaug_lab.evaluate.metrics import memorisation, mmd_rbf, sliced_wasserstein
from scoreaug_lab.models import build_model
from scoreaug_lab.oracles import IdealDenoiser
from scoreaug_lab.sampling import edm_sigma_steps, parse_seeds, sample
from scoreaug_lab.scores import denoiser_to_score, ideal_denoiser, score_to_denoiser
from scoreaug_lab.transforms import TransformSampler, get_transform

NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def mlp():
    return build_model("mlp", (2,), width=16, depth=1, fourier_features=4).eval()


@pytest.mark.parametrize("x,sigma,match", [
    (torch.zeros(3, 2), 0.0, "sigma"), (torch.zeros(3, 2), -1.0, "sigma"), (torch.zeros(3, 2), NAN, "sigma"),
    (torch.zeros(3, 2), INF, "sigma"), (torch.tensor([[NAN, 0.0]]), 0.5, "x contains NaN"),
    (torch.tensor([[INF, 0.0]]), 0.5, "x contains NaN"), (torch.zeros(0, 2), 0.5, "empty batch"),
    (torch.zeros(3, 3), 0.5, r"\(B, 2\)"),
])
def test_model_refuses_bad_input(mlp, x, sigma, match):
    with pytest.raises(ValueError, match=match):
        mlp(x, sigma)


def test_model_takes_any_float_precision(mlp):
    x = torch.randn(4, 2, dtype=torch.float64)
    ref = mlp(x.float(), 0.5)
    assert mlp(x, 0.5).dtype == torch.float64 and torch.allclose(mlp(x, 0.5).float(), ref, atol=1e-6)
    assert mlp(x.half(), 0.5).dtype == torch.float16
    with pytest.raises(TypeError, match="floating-point"):
        mlp(torch.zeros(2, 2, dtype=torch.long), 0.5)


@pytest.mark.parametrize("bad", ["x0 nan", "sigma zero", "sigma nan", "shape", "empty"])
def test_loss_refuses_bad_input(mlp, bad):
    x0 = torch.zeros(4, 2)
    randomness = draw_training_randomness((4, 2), "noaug")
    if bad == "x0 nan":
        x0[0, 0] = NAN
    elif bad.startswith("sigma"):
        randomness.sigma[0] = 0.0 if bad == "sigma zero" else NAN
    elif bad == "shape":
        x0 = torch.zeros(5, 2)
    else:
        x0, randomness = torch.zeros(0, 2), draw_training_randomness((0, 2), "noaug")
    with pytest.raises(ValueError):
        diffusion_loss(mlp, x0, randomness)


@pytest.mark.parametrize("kwargs,match", [
    (dict(sigma_min=0.0), "sigma_min"), (dict(sigma_min=-1.0), "sigma_min"), (dict(sigma_max=INF), "sigma_max"),
    (dict(sigma_min=5.0, sigma_max=1.0), "sigma_min < sigma_max"), (dict(rho=NAN), "rho"), (dict(rho=0.0), "rho"),
    (dict(num_steps=0), "num_steps"), (dict(churn=NAN), "churn"), (dict(churn=-1.0), "churn"),
    (dict(noise_scale=NAN), "noise_scale"), (dict(method="rk4"), "unknown sampler"),
])
def test_sampler_refuses_bad_settings(mlp, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample(mlp, (2,), range(4), **kwargs)


def test_sampler_and_seed_lists():
    with pytest.raises(ValueError, match="at least one seed"):
        sample(IdealDenoiser(torch.randn(4, 2)), (2,), [])
    with pytest.raises(ValueError, match="end comes before"):
        parse_seeds("0-3,5-1")
    with pytest.raises(ValueError, match="seed must be in"):
        parse_seeds("4294967296")
    assert parse_seeds("3,0-2") == [3, 0, 1, 2]
    assert edm_sigma_steps(18)[-1] == 0 and len(edm_sigma_steps(18)) == 19


@pytest.mark.parametrize("sigma", [0.0, -0.5, NAN, INF])
def test_closed_forms_refuse_bad_noise_levels(sigma):
    y, train = torch.randn(3, 2), torch.randn(5, 2)
    with pytest.raises(ValueError, match="sigma"):
        ideal_denoiser(y, sigma, train)
    with pytest.raises(ValueError, match="sigma"):
        denoiser_to_score(y, sigma, y)
    with pytest.raises(ValueError, match="sigma"):
        score_to_denoiser(y, sigma, y)
    with pytest.raises(ValueError, match="sigma"):
        edm_coefficients(torch.tensor([sigma]))


@pytest.mark.parametrize("samples,train,match", [
    (torch.tensor([[NAN, 0.0], [0.0, 0.0]]), torch.randn(5, 2), "samples contains NaN"),
    (torch.zeros(0, 2), torch.randn(5, 2), "samples must be a batch"),
    (torch.randn(4, 2), torch.zeros(0, 2), "train"), (torch.randn(4, 2), torch.randn(1, 2), "at least 2"),
    (torch.randn(4, 3), torch.randn(5, 2), "differ in shape"),
])
def test_memorisation_refuses_what_it_cannot_measure(samples, train, match):
    with pytest.raises(ValueError, match=match):
        memorisation(samples, train)


def test_empty_sets_in_distances_and_oracles():
    with pytest.raises(ValueError):
        sliced_wasserstein(torch.zeros(0, 2), torch.randn(4, 2))
    with pytest.raises(ValueError, match="at least 2"):
        mmd_rbf(torch.randn(1, 2), torch.randn(4, 2))
    with pytest.raises(ValueError, match="training set"):
        IdealDenoiser(torch.zeros(0, 2))
    with pytest.raises(ValueError, match="y must be a batch"):
        ideal_denoiser(torch.zeros(0, 2), 0.5, torch.randn(3, 2))


@pytest.mark.parametrize("spec,match", [
    ("scale:max_log=nan", "max_log"), ("rotate:max_angle=inf", "max_angle"), ("translate:max_shift=-1", "max_shift"),
    ("tanh:max_strength=nan", "max_strength"), ("shear:max_shear=inf", "max_shear"), ("", "no transforms"),
    ("rot90,,flip", "unknown"), ("scale:max_log", "key=value"),
])
def test_transform_specs_are_checked(spec, match):
    from scoreaug_lab.transforms import parse_transforms
    with pytest.raises(ValueError, match=match):
        parse_transforms(spec, "points")


def test_transform_parameters_and_sampler_probability_are_checked():
    rot = get_transform("rotate")
    with pytest.raises(ValueError, match="NaN"):
        rot.apply(torch.zeros(2, 2), torch.tensor([[NAN], [0.0]]))
    with pytest.raises(ValueError, match="probability"):
        TransformSampler([rot], p=NAN)
    with pytest.raises(ValueError, match="angle"):
        rot.params_from_controls({"angle": NAN})
    with pytest.raises(ValueError, match="amount"):
        rot.params_at(2.0)


# --- widgets: refuse in the status line, keep the last good value, stay usable --------------------------------
@pytest.fixture(scope="module")
def sampler_app():
    from scoreaug_lab.widgets import SamplerExplorer
    return SamplerExplorer(n_samples=60, n_trajectories=2)


@pytest.mark.parametrize("control,value", [("churn", NAN), ("rho", NAN), ("rho", INF), ("sigma_max", NAN)])
def test_sampler_explorer_refuses_and_stays_usable(sampler_app, control, value):
    from traitlets import TraitError
    before = sampler_app.controls[control].value
    try:
        sampler_app.controls[control].value = value
    except TraitError:                               # a slider that only holds listed values refuses by itself
        assert sampler_app.controls[control].value == before
        return
    if math.isnan(value):
        assert "not a finite number" in sampler_app.last_error and sampler_app.controls[control].value == before
    else:                                            # a bounded slider clamps inf to its end: a usable value
        assert math.isfinite(sampler_app.controls[control].value)
    sampler_app.controls["seed"].value = (sampler_app.controls["seed"].value + 1) % 5
    assert sampler_app.last_error is None
    assert_samples_are_the_samplers(sampler_app)


def assert_samples_are_the_samplers(app):
    """Oracle: the public sampler run with the controls' settings and seeds gives the samples the widget shows."""
    s = app.state
    settings = {k: s[k] for k in ("num_steps", "sigma_min", "sigma_max", "rho", "method", "churn")}
    seeds = range(s["seeds"][0], s["seeds"][1] + 1)
    expected = sample(app.denoisers[s["denoiser"]], (2,), seeds, **settings)
    assert s["samples"].shape == tuple(expected.shape)
    assert np.allclose(s["samples"], expected.numpy(), rtol=1e-5, atol=1e-5)


def test_sampler_explorer_with_one_sample(sampler_app):
    from scoreaug_lab.evaluate.metrics import projection_directions
    sampler_app.controls["n_samples"].value = 1
    assert sampler_app.last_error is None
    assert_samples_are_the_samplers(sampler_app)
    # closed form: W2 between a point mass at x and the reference's empirical law on direction p is the root mean
    # square of (r_j - x) . theta_p over the reference points r_j
    x, ref = torch.from_numpy(sampler_app.state["samples"]).double(), sampler_app.reference.double()
    theta = projection_directions(2, 64)                                      # sampler_report's 64 directions
    expected = ((ref - x) @ theta).pow(2).mean().sqrt().item()
    assert sampler_app.state["sliced_wasserstein"] == pytest.approx(expected, rel=1e-9)
    sampler_app.controls["n_samples"].value = 60


def test_overfitting_explorer_survives_none(tmp_path):
    from scoreaug_lab.widgets import OverfittingExplorer
    app = OverfittingExplorer(denoiser="optimum", sizes=(8, 16), n_samples=32, store_dir=tmp_path, background=False)
    app.controls["band"].value = None
    assert "None" in app.last_error
    assert app.controls["band"].value == 1
    app.controls["n_train"].value = 8
    assert app.last_error is None and app.state["n_train"] == 8
