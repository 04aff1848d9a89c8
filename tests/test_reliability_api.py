"""Bad values into the Python API: a ValueError (or TypeError) that names the argument, raised where the value
enters, never a NaN result; widgets refuse what they cannot show and stay usable."""
import contextlib
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


# --- issue 21: the library's arguments: refused by name, never a wrong result, bounded before allocating --------
from types import SimpleNamespace                                                          # noqa: E402

from scoreaug_lab import validation as V                                                   # noqa: E402
from scoreaug_lab.evaluate.metrics import overfitting_gap                                  # noqa: E402
from scoreaug_lab.lab.leakage import distance_table, network_leak, optimum_leak            # noqa: E402
from scoreaug_lab.lab.memorisation_curve import oracle_loss_lines, run_loss_lines          # noqa: E402
from scoreaug_lab.lab.noise_report import noise_draws, noise_report                        # noqa: E402
from scoreaug_lab.lab.sampler_report import sampler_report                                 # noqa: E402
from scoreaug_lab.lab.score_fields import log_densities, model_field, pushforward_field, square_grid  # noqa: E402
from scoreaug_lab.runs.store import RunStore                                               # noqa: E402
from scoreaug_lab.sampling import SeededNoise, start_noise                                  # noqa: E402

ORACLE = IdealDenoiser(torch.randn(6, 2, generator=torch.Generator().manual_seed(0)))
POINTS = torch.randn(5, 2, dtype=torch.float64)
ROTATE = get_transform("rotate")
METRICS = [{"step": 5, "eval": [{"train": 1.0, "heldout": 2.0}] * 3}]
FAKE_RUN = SimpleNamespace(key="fake", data=SimpleNamespace(data_shape=(2,)), run_dir=None)


@pytest.mark.parametrize("seeds,match", [
    ([1.5], r"seeds\[0\] must be a whole number"), ("123", "seeds must be a list or range"),
    ([2**64], r"seeds\[0\] must be in \[0, 4294967295\]"), ([-1], r"seeds\[0\]"), ([True], r"seeds\[0\]"),
    ([], "seeds must hold at least one seed"), ([0, "1"], r"seeds\[1\]"), (3, "seeds must be a list"),
])
def test_seed_lists_are_refused_by_name_not_misread(seeds, match):
    for call in (lambda: sample(ORACLE, (2,), seeds), lambda: start_noise((2,), seeds, 1.0),
                 lambda: sampler_report(ORACLE, seeds, POINTS.float(), POINTS.float())):
        with pytest.raises(ValueError, match=match):
            call()


def test_seed_lists_of_numpy_and_tensor_integers_are_the_python_seeds():
    expected = sample(ORACLE, (2,), [3, 4, 5])
    for seeds in (np.arange(3, 6), torch.arange(3, 6), (s for s in (3, 4, 5)), range(3, 6), [3.0, 4, 5]):
        assert torch.equal(sample(ORACLE, (2,), seeds), expected)
    assert SeededNoise(np.array([7], dtype=np.uint32)).seeds == [7] and type(SeededNoise([np.int64(7)]).seeds[0]) is int


@pytest.mark.parametrize("n,seed,match", [
    (0, 0, "n must be >= 1"), (2.5, 0, "n must be a whole number"), (4, "123", "seed must be a whole number"),
    (4, 1.5, "seed must be a whole number"), (4, -1, "seed must be in"), (4, 2**32 - 2, r"the last seed \(seed \+ n - 1\)"),
])
def test_store_samples_refuse_bad_counts_and_seeds(n, seed, match):
    store = RunStore("/nonexistent-store")
    for call in (lambda: store.samples(FAKE_RUN, n, seed=seed), lambda: store.oracle_samples(("k",), ORACLE, (2,), n, seed),
                 lambda: store._draw(ORACLE, (2,), n, seed=seed)):
        with pytest.raises(ValueError, match=match):
            call()


@pytest.mark.parametrize("call,match", [
    (lambda: square_grid(2, 4.7), "size must be a whole number"), (lambda: square_grid(2, 1), "size must be >= 2"),
    (lambda: square_grid(math.inf, 5), "extent must be a finite number"), (lambda: square_grid(NAN, 5), "extent"),
    (lambda: square_grid(0.0, 5), "extent must lie in"),
    (lambda: pushforward_field(None, ROTATE, ROTATE.params_at(0.5), 0.5, torch.zeros(4, 3, dtype=torch.float64)),
     r"grid must be points of the plane, shape \(G, 2\), got \(4, 3\)"),
    (lambda: log_densities(None, ROTATE, ROTATE.params_at(0.5), 0.5, torch.zeros(0, 2, dtype=torch.float64)), "grid"),
    (lambda: model_field(ORACLE, None, POINTS, torch.zeros(0, 2), 0.5), "samples must be a batch"),
    (lambda: model_field(ORACLE, None, POINTS, torch.tensor([[NAN, 0.0]]), 0.5), "samples contains NaN"),
    (lambda: noise_report(ROTATE, ROTATE.params_at(0.5), torch.zeros(0, 2), 0.5, torch.zeros(3, 0, 2)), "x0 must be"),
    (lambda: noise_report(ROTATE, ROTATE.params_at(0.5), POINTS, 0.5, torch.zeros(0, 5, 2)), "noise must be a batch"),
    (lambda: noise_report(ROTATE, ROTATE.params_at(0.5), POINTS, 0.5, torch.full((2, 5, 2), INF)), "noise contains"),
    (lambda: noise_report(ROTATE, ROTATE.params_at(0.5), POINTS, 1.7e308, 8 * noise_draws((5, 2), 2, 0)),
     r"x0 \+ sigma n at sigma = 1.7e\+308 contains NaN or infinite values"),
    (lambda: noise_draws((2,), 0, 0), "n_draws must be >= 1"), (lambda: noise_draws((2,), 2, 1.5), "seed"),
    (lambda: sampler_report(ORACLE, range(4), POINTS.float(), POINTS.float(), n_trajectories=-1), "n_trajectories"),
    (lambda: sampler_report(ORACLE, range(4), POINTS.float(), POINTS.float(), n_projections=0), "n_projections"),
    (lambda: sampler_report(ORACLE, range(4), POINTS.float()[:0], POINTS.float()), "reference must be a batch"),
    (lambda: run_loss_lines(METRICS, -1), r"band \(a sigma band\) must be in \[0, 2\], got -1"),
    (lambda: run_loss_lines(METRICS, 99), r"band \(a sigma band\) must be in \[0, 2\], got 99"),
    (lambda: run_loss_lines(METRICS, 1.5), "band"),
    (lambda: oracle_loss_lines(RunStore("/nonexistent-store"), ("k",), ORACLE, None, -1, 10), "band"),
    (lambda: optimum_leak(RunStore("/nonexistent-store"), family="bogus"),
     "family must be one of scale, translate, rotate, got 'bogus'"),
    (lambda: network_leak(RunStore("/nonexistent-store"), family="bogus"), "family must be one of"),
    (lambda: distance_table({"a": torch.randn(5, 2)}, {"data": torch.randn(5, 3)}),
     r"samples and references must be points of one shape, got \{'data': \(3,\), 'a': \(2,\)\}"),
    (lambda: overfitting_gap(ORACLE, POINTS.float(), POINTS.float(), n_per_band=0), "n_per_band must be >= 1"),
    (lambda: overfitting_gap(ORACLE, POINTS.float(), POINTS.float(), batch_size=0), "batch_size must be >= 1"),
    (lambda: overfitting_gap(ORACLE, POINTS.float()[:0], POINTS.float()), "data must be a batch"),
])
def test_lab_functions_refuse_by_name_instead_of_a_wrong_result(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# Each allocates by a count: refused before anything is allocated (each case takes milliseconds), the message
# naming the argument, the count and the limit.
@pytest.mark.parametrize("call,match", [
    (lambda: sample(ORACLE, (2,), range(10**9)), "seeds holds 1,000,000,000 seeds, more than the limit of 10,000,000"),
    (lambda: sample(ORACLE, (2,), range(10_000_001)), "seeds holds 10,000,001 seeds, more than the limit of 10,000,000"),
    (lambda: sample(ORACLE, (3, 32, 32), range(1_000_000)), "the number of seeds = 1,000,000 would allocate 11.4 GiB"),
    (lambda: start_noise((3, 64, 64), range(200_000), 1.0), "the number of seeds = 200,000 would allocate"),
    (lambda: RunStore("/nonexistent-store").samples(FAKE_RUN, 10**9), "n = 1,000,000,000 would allocate"),
    (lambda: RunStore("/nonexistent-store").samples(FAKE_RUN, 10**8), "n = 100,000,000 is more than the limit"),
    (lambda: optimum_leak(RunStore("/nonexistent-store"), n_samples=10**9), "n_samples = 1,000,000,000 would"),
    (lambda: sampler_report(ORACLE, range(10**9), POINTS.float(), POINTS.float()), "more than the limit of 10,000,000"),
    (lambda: sampler_report(ORACLE, range(4), POINTS.float(), POINTS.float(), n_projections=10**9), "n_projections ="),
    (lambda: noise_draws((2,), 10**10, 0), "n_draws = 10,000,000,000 would allocate 149.0 GiB"),
    (lambda: square_grid(2, 10**6), "size 1,000,000 .* would allocate"),
    (lambda: overfitting_gap(ORACLE, POINTS.float(), POINTS.float(), n_per_band=10**10), "n_per_band = 10,000,000,000"),
])
def test_counts_that_would_exhaust_memory_are_refused_before_allocating(call, match):
    with pytest.raises(ValueError, match=match) as err:
        call()
    assert "limit" in str(err.value)


def test_the_bound_is_one_helper_sized_in_bytes():
    assert V.count("n", V.MAX_BYTES // 8, 8) == V.MAX_BYTES // 8
    with pytest.raises(ValueError, match=r"n = 536,870,913 would allocate 4.0 GiB, more than the limit of 4 GiB"):
        V.count("n", V.MAX_BYTES // 8 + 1, 8)
    assert len(sample(ORACLE, (2,), range(2), num_steps=1)) == 2


def test_a_whole_float_n_train_trains():
    from scoreaug_lab.train.loop import TrainConfig, train
    state = train(TrainConfig(n_train=16.0, n_heldout=10.0, steps=2, batch_size=8.0, progress=False,
                              model_kwargs=dict(width=8, depth=1, fourier_features=2)))
    assert state.step == 2


# --- issue 21: no control of any widget can be wedged ----------------------------------------------------------
def _widgets():
    """One of each widget, the cheapest (no training: the optima), with a probe control to move after an attack
    (and a second one for when the probe is the control attacked)."""
    from scoreaug_lab import widgets as Wd
    return {
        "ImageTransformExplorer": (lambda tmp: Wd.ImageTransformExplorer(data="digits", digits_size=8,
                                                                         cifar_path=False, n_train=4),
                                   ("noise_seed", "sigma")),
        "PointTransformExplorer": (lambda tmp: Wd.PointTransformExplorer(n_points=32), ("noise_seed", "sigma")),
        "ScoreFieldExplorer": (lambda tmp: Wd.ScoreFieldExplorer(grid_size=3, density_size=3, n_samples=5),
                               ("show_density", "sigma")),
        "SamplerExplorer": (lambda tmp: Wd.SamplerExplorer(n_samples=8, n_trajectories=1, steps=2, n_reference=50,
                                                               max_samples=16, max_steps=4),
                            ("seed", "sigma_max")),
        "OverfittingExplorer": (lambda tmp: Wd.OverfittingExplorer(denoiser="optimum", sizes=(8, 16), n_samples=16,
                                                                   store_dir=tmp, background=False),
                                ("band", "n_train")),
        "LeakageExplorer": (lambda tmp: Wd.LeakageExplorer(denoiser="optimum", n_train=32, n_samples=32, n_draws=2,
                                                           store_dir=tmp, background=False), ("amount", "pair")),
    }


BAD_VALUES = [None, NAN, INF, "not a value", 10**9, (1,)]


def _another(control):
    """A valid value of `control` other than its own."""
    import ipywidgets as W
    if isinstance(control, W.Checkbox):
        return not control.value
    if isinstance(control, (W.IntSlider, W.FloatSlider)):
        step = control.step
        return control.value + step if control.value + step <= control.max else control.value - step
    values = [o[1] if isinstance(o, tuple) else o for o in control.options]
    return next(v for v in values if v != control.value)


@pytest.mark.parametrize("widget", list(_widgets()))
def test_no_control_of_any_widget_can_be_wedged(tmp_path, widget):
    """Every control of every widget given None, NaN, inf, a string, a number off its scale or a tuple: it keeps its
    last good value (a bounded slider may take its nearest end, a good value), said in the status line or by a
    TraitError, and moving another control then works (6 of 7 widgets refused every change after sigma = None)."""
    import ipywidgets as W
    from traitlets import TraitError
    make, probes = _widgets()[widget]
    app = make(tmp_path)
    for name, control in app.controls.items():
        probe = app.controls[probes[0] if name != probes[0] else probes[1]]
        for bad in BAD_VALUES:
            before = control.value
            with contextlib.suppress(TraitError):
                control.value = bad
            clamped = isinstance(control, (W.IntSlider, W.FloatSlider)) and control.value in (control.min, control.max)
            assert control.value == before or clamped, (name, bad, control.value)
            kept, value = control.value, _another(probe)
            probe.value = value
            assert app.last_error is None and probe.value == value and control.value == kept, (name, bad, app.last_error)
