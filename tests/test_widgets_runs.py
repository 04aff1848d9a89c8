"""The overfitting and leakage explorers driven headless, the library behind them (run store, optima,
memorisation curve, leak measurements), and the oracles they are checked against.

The optimal denoisers of the variants are checked against closed forms (the ideal denoiser, its transformed
versions, Gaussian log-densities from torch.distributions); the widgets against what the mathematics says their
figures must show (training points shown exactly, memorisation of the optimum equal to the weight of its identity
components, the leak of the unconditioned optimum towards the augmented data).
"""
import math
import random

import numpy as np
import pytest
import torch

from scoreaug_lab.evaluate.metrics import memorisation, projected_quantiles, sliced_w2, sliced_wasserstein
from scoreaug_lab.lab.leakage import (distance_table, leak_configs, optimum_leak, optimum_setting, reference_sets,
                                       sample_sets)
from scoreaug_lab.lab.memorisation_curve import (
    MemorisationCurve, memorisation_point, oracle_draws, run_loss_lines, stored_data)
from scoreaug_lab.optima import MixtureOptimum, transform_draws, variant_optimum
from scoreaug_lab.presets import TOY_TRAINING, toy_config
from scoreaug_lab.runs.store import RunStore, config_key
from scoreaug_lab.sampling import SeededNoise, edm_sigma_steps
from scoreaug_lab.scores import ideal_denoiser
from scoreaug_lab.train.config import TrainConfig
from scoreaug_lab.train.loop import train
from scoreaug_lab.transforms import build_sampler, get_transform
from scoreaug_lab.transforms.linear import affine_parts
from scoreaug_lab.widgets.leakage_explorer import LeakageExplorer
from scoreaug_lab.widgets.overfitting_explorer import OverfittingExplorer

TINY = dict(width=16, depth=1, fourier_features=4)
CLI_TINY = ["--n-heldout", "100", "--batch-size", "16", "--no-progress", "--model-opt", "width=16",
            "--model-opt", "depth=1", "--model-opt", "fourier_features=4"]
SETS = ("unconditioned", "conditioned_0", "conditioned_T")


def _points(n, seed, scale=0.6):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def _figure_ids(app):
    return {k: (id(fig), [id(t) for t in fig.data]) for k, fig in app.figures.items()}


# --- the oracles --------------------------------------------------------------------------------------
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


def test_quantile_tables_give_the_sliced_wasserstein_distance():
    a, b = _points(300, 4), _points(500, 5, 0.8) + 0.2
    assert abs(sliced_w2(projected_quantiles(a, seed=3), projected_quantiles(b, seed=3))
               - sliced_wasserstein(a, b, seed=3)) < 1e-12


def test_params_at_maps_amounts_to_parameters():
    assert get_transform("scale", max_log=0.5).params_at(0.5).item() == pytest.approx(0.25)
    assert get_transform("translate", max_shift=0.8).params_at(-1).tolist() == [[pytest.approx(-0.8), 0.0]]
    assert get_transform("rot90").params_at(1.0).item() == 3
    assert get_transform("flip").params_at(0.2).item() == 0
    with pytest.raises(ValueError, match="amount"):
        get_transform("scale").params_at(1.5)


# --- the run store and the recipes ---------------------------------------------------------------------
def test_run_store_trains_once_then_loads_from_disk(tmp_path):
    config = TrainConfig(data="toy:gmm8", n_train=16, n_heldout=100, steps=12, batch_size=16, model_kwargs=TINY,
                         log_every=4, ckpt_every=12, eval_every=6)
    store = RunStore(tmp_path)
    seen = []
    run = store.get(config, progress=lambda step, total: seen.append((step, total)))
    assert seen[-1] == (12, 12) and run.step == 12 and run.run_dir == tmp_path / config_key(config)
    assert [m["step"] for m in run.metrics if "eval" in m] == [6, 12]
    assert store.get(config) is run                                       # memory
    fresh = RunStore(tmp_path).cached(config)                             # disk, no training
    assert fresh is not None and fresh.step == 12
    x = torch.tensor([[0.3, -0.2]])
    assert (fresh.model(x, torch.tensor([0.5])) - run.model(x, torch.tensor([0.5]))).abs().max() == 0
    assert store.samples(run, 8) is store.samples(run, 8)                 # memoised
    other = TrainConfig.from_dict({**config.to_dict(), "seed": 1})
    assert config_key(other) != config_key(config) and store.cached(other) is None
    where = TrainConfig.from_dict({**config.to_dict(), "out": "elsewhere", "progress": False, "device": "cpu"})
    assert config_key(where) == config_key(config)                        # where and how: not in the hash


def test_run_store_resumes_an_interrupted_run(tmp_path):
    config = TrainConfig(data="toy:gmm8", n_train=16, n_heldout=100, steps=12, batch_size=16, model_kwargs=TINY,
                         log_every=3, ckpt_every=6)
    half = TrainConfig.from_dict({**config.to_dict(), "steps": 6, "progress": False,
                                  "out": str(tmp_path / "a" / config_key(config))})
    train(half)                                                           # interrupted after 6 of 12 steps
    store = RunStore(tmp_path / "a")
    assert store.cached(config) is None                                   # unfinished: not a stored run
    seen = []
    resumed = store.get(config, progress=lambda step, total: seen.append(step))
    assert resumed.step == 12 and min(seen) > 6                           # trained steps 7 to 12 only
    straight = RunStore(tmp_path / "b").get(config)
    x, s = _points(5, 9).float(), torch.full((5,), 0.4)
    assert (resumed.model(x, s) - straight.model(x, s)).abs().max() < 1e-6


def test_widget_recipes_are_the_notebook_settings():
    """presets.toy_config gives the settings the explorers and notebooks 04/05/07 built by hand before (same
    config key, so stored runs are reused)."""
    old_overfit = TrainConfig(**TOY_TRAINING, data="toy:gmm8", n_train=64, variant="noaug", transforms="auto",
                              aug_prob=0.5, model_kwargs=TINY, steps=40, seed=2, data_seed=2, log_every=1,
                              ckpt_every=40, eval_every=4)
    assert config_key(toy_config("noaug", "rotate", 64, seed=2, data_seed=2, steps=40,
                                 model_kwargs=TINY)) == config_key(old_overfit)
    for pair, variants in (("clean", ("clean", "clean-omega")), ("noisy", ("noisy", "scoreaug"))):
        old = [TrainConfig(**TOY_TRAINING, data="toy:moons", n_train=64, transforms="scale:max_log=0.693",
                           aug_prob=1.0, model_kwargs=TINY, steps=20, seed=0, log_every=1, ckpt_every=20,
                           variant=v) for v in variants]
        new = leak_configs(pair, "scale:max_log=0.693", n_train=64, steps=20, model_kwargs=TINY)
        assert [config_key(c) for c in new] == [config_key(c) for c in old]


# --- memorisation curve (library) -----------------------------------------------------------------------
def test_memorisation_point_curve_and_loss_lines(tmp_path):
    store = RunStore(tmp_path)
    data = stored_data(store, "toy:gmm8", 16)
    assert stored_data(store, "toy:gmm8", 16) is data and len(data.heldout) == 1000
    samples = data.train[torch.arange(40) % 16] + 1e-4                      # copies of training points
    point = memorisation_point(store, samples, ("copies",), data, ("split",))
    assert point.memorised_fraction == 1.0
    assert point.fresh_memorised_fraction == memorisation(data.heldout[:40], data.train)["memorised_fraction"]
    curve = MemorisationCurve()
    curve.add(("g",), 32, point)
    curve.add(("g",), 8, point)
    assert curve.sizes(("g",)) == [8, 32] and curve.as_dict(("g",)) == {8: 1.0, 32: 1.0}
    metrics = [{"step": 1}, {"step": 2, "eval": [{"train": 1.0, "heldout": 2.0}]}]
    lines = run_loss_lines(metrics, 0)
    assert (lines.steps, lines.train, lines.heldout, lines.gap) == ([2], [1.0], [2.0], 1.0)
    assert run_loss_lines([], 0).gap is None
    assert oracle_draws(8) == 16 and oracle_draws(4096) == 4


# --- leak measurements (library) -------------------------------------------------------------------------
def test_leak_table_of_the_optima(tmp_path):
    """The unconditioned optimum of `scale` leaks (farther from the data than the conditioned optimum at
    omega = 0); the conditioned optimum at omega_T lands on T(data); distances are exact sliced W2."""
    store = RunStore(tmp_path)
    for pair in ("clean", "noisy"):
        result = optimum_leak(store, pair, "scale", 1.0, n_train=128, n_samples=256, n_draws=8)
        d = result.distances
        assert d["unconditioned"]["data"] > d["conditioned_0"]["data"] and result.leak > 0
        assert d["conditioned_T"]["transformed"] < 0.5 * d["conditioned_T"]["data"]
        assert d["conditioned_0"]["data"] < 0.5 * d["conditioned_0"]["transformed"]
        for s in SETS:
            for r, ref in result.references.items():
                assert abs(d[s][r] - sliced_wasserstein(result.samples[s], ref)) < 1e-12
        assert optimum_leak(store, pair, "scale", 1.0, n_train=128, n_samples=256, n_draws=8) is result  # memo
    setting = optimum_setting(store, "clean", "scale:max_log=0.693", 0.5, n_train=128)
    refs = reference_sets(setting, seed=1)
    a = math.exp(0.5 * 0.693)
    assert (refs["transformed"] - a * setting.data.heldout).abs().max() < 1e-6
    moved = (refs["augmented"] - setting.data.heldout).abs().amax(1) > 0   # aug_prob 1: every point transformed
    assert moved.float().mean() > 0.99


@pytest.mark.parametrize("spec, amount", [("scale", 0.5), ("translate:max_shift=0.75", 0.6), ("rotate", 1.0)])
def test_omega_t_sampling_of_scoreaug_starts_from_transformed_noise(tmp_path, spec, amount):
    """The conditioned_T set of a noisy-space pair ("matched" start) is EDM's Heun sampler, written out here,
    started from T(sigma_max n) with each sample's own seed."""
    store = RunStore(tmp_path)
    setting = optimum_setting(store, "noisy", spec, amount, n_train=24)
    n = 12
    got = sample_sets(store, setting, n, "matched")["conditioned_T"].double()
    model, t, params = setting.models["conditioned_T"][0], setting.transform, setting.params
    sigmas = edm_sigma_steps(18)
    x = t.apply(SeededNoise(range(n)).randn((2,)) * sigmas[0].item(), params.expand(n, -1).float())
    for s, s_next in zip(sigmas[:-1].tolist(), sigmas[1:].tolist()):         # Heun (EDM's Algorithm 1)
        d = (x - model(x, torch.full((n,), s))) / s
        x_next = x + (s_next - s) * d
        if s_next > 0:
            x_next = x + (s_next - s) * 0.5 * (d + (x_next - model(x_next, torch.full((n,), s_next))) / s_next)
        x = x_next
    assert (got - x.double()).abs().max() < 1e-4
    if t.name != "translate":      # a shift of the start by b at sigma = 80 is gone by the end: b * 0.002 / 80
        plain = sample_sets(store, setting, n, "plain")["conditioned_T"]
        assert (plain - got.float()).abs().max() > 0.01                     # the start matters: a different set


def test_start_noise_only_matters_in_noisy_space(tmp_path):
    store = RunStore(tmp_path)
    clean = optimum_setting(store, "clean", "scale:max_log=0.693", 1.0, n_train=64)
    a = sample_sets(store, clean, 32, "matched")["conditioned_T"]
    assert a is sample_sets(store, clean, 32, "plain")["conditioned_T"]       # the same draw, memoised once
    noisy = optimum_setting(store, "noisy", "scale:max_log=0.693", 1.0, n_train=64)
    matched, plain = (sample_sets(store, noisy, 32, s)["conditioned_T"] for s in ("matched", "plain"))
    assert (matched - plain).abs().max() > 0.05
    with pytest.raises(ValueError, match="start_noise"):
        sample_sets(store, noisy, 32, "sideways")
    table = distance_table({"x": matched}, {"y": plain}, seed=2)
    assert table["x"]["y"] == pytest.approx(sliced_wasserstein(matched, plain, seed=2), abs=1e-12)


# --- OverfittingExplorer ------------------------------------------------------------------------------
def _overfit(tmp_path, **kw):
    options = dict(steps=40, n_samples=128, model_kwargs=TINY, store_dir=tmp_path / "store", background=False)
    return OverfittingExplorer(**{**options, **kw})


def test_overfitting_optimum_memorises_and_truth_does_not(tmp_path):
    app = _overfit(tmp_path, denoiser="optimum", sizes=(8, 32, 128))
    figs = _figure_ids(app)
    for n in (8, 128, 32):
        app.controls["n_train"].value = n
        assert app.last_error is None
        assert app.state["n_train_shown"] == n and len(app.view.traces["samples/training points"].x) == n
        assert len(app.view.traces["samples/samples"].x) == 128
        assert app.state["memorised_fraction"] > 0.95                     # the ideal denoiser copies
        assert app.state["loss_train"][0] < app.state["loss_heldout"][0]  # and fits its set better
    assert sorted(app.state["memorisation_curve"]) == [8, 32, 128]
    assert list(app.view.traces["memorisation/samples"].x) == [8, 32, 128]
    # the true-distribution denoiser samples fresh data: memorisation at the fresh-data level
    app.controls["denoiser"].value = "truth"
    assert abs(app.state["memorised_fraction"] - app.state["fresh_memorised_fraction"]) < 0.12
    assert app.state["memorised_fraction"] < 0.5
    # the unconditioned augmented optimum copies T(x_i): copies of training points only through its
    # identity components (weight w_id), plus chance closeness at the fresh-data rate
    app.controls["denoiser"].value = "optimum"
    app.controls["variant"].value = "clean"
    sampler = build_sampler("rot90,flip", "points", 0.5)
    oracle = variant_optimum(stored_data(app.store, "toy:gmm8", 32).train, "clean", sampler,
                             n_draws=oracle_draws(32))
    identity = (oracle.a - torch.eye(2, dtype=torch.float64)).abs().amax((1, 2)) < 1e-7
    w_id = oracle.log_prior.exp()[identity].sum().item()
    expected = w_id + (1 - w_id) * app.state["fresh_memorised_fraction"]
    assert 0.6 < w_id < 0.75 and abs(app.state["memorised_fraction"] - expected) < 0.12
    assert _figure_ids(app) == figs


def test_overfitting_trains_on_the_fly_and_caches(tmp_path):
    app = _overfit(tmp_path, sizes=(16, 32), n_train=16)
    assert app.last_error is None and app.state["run_key"] == config_key(app.config())
    assert config_key(app.config()) == config_key(toy_config("noaug", "rot90,flip", 16, steps=40, model_kwargs=TINY))
    first = app.state["run_dir"]
    evals = [m["step"] for m in app.store.load(first).metrics if "eval" in m]
    assert app.state["loss_steps"] == evals == [4 * k for k in range(1, 11)]
    assert list(app.view.traces["loss/training set"].x) == evals
    app.controls["n_train"].value = 32
    assert app.state["run_dir"] != first and app.state["n_train_shown"] == 32
    app.controls["variant"].value = "scoreaug"
    assert app.last_error is None and "scoreaug" in app.state["run_key"]
    # noaug ignores the transforms: one run for every transform choice
    app.controls["variant"].value = "noaug"
    key = app.state["run_key"]
    app.controls["transforms"].value = "rotate"
    assert app.state["run_key"] == key
    # revisiting a setting is instant (no training, samples memoised)
    app.controls["n_train"].value = 16
    assert app.state["run_dir"] == first and app.update_seconds[-1] < 0.5


def test_overfitting_trains_in_the_background(tmp_path):
    app = _overfit(tmp_path, sizes=(16, 32), n_train=16, background=True, steps=30)
    app.wait(120)
    assert app.state["pending"] is None and app.state["n_samples_shown"] == 128
    app.controls["n_train"].value = 32
    assert app.last_error is None and app.state["n_train_shown"] == 32   # training points shown at once
    app.wait(120)
    assert app.last_error is None and app.state["pending"] is None
    assert app.state["n_samples_shown"] == 128 and app.state["run_key"].startswith("toy-gmm8_noaug_n32")
    assert app.progress.layout.display == "none"


def test_overfitting_refuses_invalid_values_and_stays_usable(tmp_path):
    """A control set to None (or a value that is not a choice) is refused in the status line and put back;
    later changes work (the old explorer showed a TypeError on every later change)."""
    app = _overfit(tmp_path, denoiser="optimum", sizes=(8, 16))
    for name, bad in (("band", None), ("variant", None), ("denoiser", None)):
        before = app.controls[name].value
        app.controls[name].value = bad
        assert app.last_error is not None and name in app.last_error and "None" in app.last_error
        assert "refused" in app.status.value and app.controls[name].value == before
    app.controls["n_train"].value = 8
    assert app.last_error is None and app.status.value == "" and app.state["n_train_shown"] == 8
    app.controls["variant"].value = "scoreaug"
    assert app.last_error is None and app.state["variant"] == "scoreaug"


def test_overfitting_shows_training_errors_in_the_status_line(tmp_path):
    app = _overfit(tmp_path, sizes=(8, 16), train_kwargs=dict(aug_prob=2.0))      # an invalid recipe
    assert "aug_prob" in app.last_error and "could not update" in app.status.value
    app.controls["denoiser"].value = "optimum"                                    # still usable
    assert app.last_error is None and app.state["memorised_fraction"] > 0.95


def test_bad_arguments_are_clear(tmp_path):
    with pytest.raises(ValueError, match="toy"):
        OverfittingExplorer(data="digits", store_dir=tmp_path)
    with pytest.raises(ValueError, match="n_train"):
        OverfittingExplorer(sizes=(8, 16), n_train=64, store_dir=tmp_path)
    with pytest.raises(ValueError, match="truth|denoiser"):
        OverfittingExplorer(data="toy:moons", denoiser="truth", store_dir=tmp_path)
    with pytest.raises(ValueError, match="pair"):
        LeakageExplorer(pair="sideways", store_dir=tmp_path)
    with pytest.raises(ValueError, match="start_noise"):
        LeakageExplorer(start_noise="sideways", store_dir=tmp_path)
    with pytest.raises(ValueError, match="one transform"):
        LeakageExplorer(transforms={"two": "scale,rotate"}, store_dir=tmp_path)


# --- LeakageExplorer ----------------------------------------------------------------------------------
def _leak(tmp_path, **kw):
    options = dict(steps=40, n_samples=256, n_train=128, model_kwargs=TINY, store_dir=tmp_path / "store",
                   background=False)
    return LeakageExplorer(**{**options, **kw})


@pytest.mark.parametrize("pair", ["clean", "noisy"])
def test_leakage_of_the_optima(tmp_path, pair):
    """The optimum without omega samples the augmented law (a mixture of transformed training points): it is
    closer to the augmented data and farther from the data than the conditioned optimum at omega = 0,
    which reproduces the data; at omega_T the conditioned optimum gives T(data)."""
    app = _leak(tmp_path, denoiser="optimum", pair=pair)
    figs = _figure_ids(app)
    for name in ("scale", "translate", "rotate"):
        app.controls["transform"].value = name
        assert app.last_error is None
        d = app.state["distances"]
        assert d["unconditioned"]["augmented"] < d["conditioned_0"]["augmented"]
        assert d["conditioned_0"]["data"] < d["unconditioned"]["data"] and app.state["leak"] > 0
        assert d["conditioned_T"]["transformed"] < 0.5 * d["conditioned_T"]["data"]
        assert d["conditioned_0"]["data"] < 0.5 * d["conditioned_0"]["transformed"]
        assert list(app.view.traces["distances/data"].y) == [d[s]["data"] for s in SETS]
        assert len(app.view.traces["conditioned_T/samples"].x) == 256
    # amount 0: omega_T is the identity, so both conditioned panels show the same samples (float32 rounding)
    app.controls["amount"].value = 0.0
    s = app.state["samples"]
    assert app.state["omega"] == [0.0, 0.0] and (s["conditioned_T"] - s["conditioned_0"]).abs().max() < 1e-4
    assert _figure_ids(app) == figs


def test_leakage_start_noise_matters_for_scoreaug_with_scaling(tmp_path):
    """ScoreAug told omega = scale a expects noise a * sigma; started from plain noise it misses T(data).
    For the clean-space pair the toggle changes nothing: it is disabled, and says why."""
    app = _leak(tmp_path, denoiser="optimum", pair="noisy")
    matched = app.state["distances"]["conditioned_T"]["transformed"]
    assert app.state["start_noise_transformed"] is True and app.state["params"] == [pytest.approx(0.693)]
    assert not app.controls["start_noise"].disabled
    app.controls["start_noise"].value = "plain"
    assert app.state["start_noise_transformed"] is False
    assert app.state["distances"]["conditioned_T"]["transformed"] > 1.5 * matched
    app.controls["pair"].value = "clean"
    assert app.controls["start_noise"].disabled and "plain noise" in app.controls["start_noise"].tooltip
    assert "clean-space" in app.start_note.value and app.state["start_noise_transformed"] is False


def test_leakage_with_trained_networks(tmp_path):
    app = _leak(tmp_path, transforms={"scale": "scale:max_log=0.693", "rotate": "rotate:max_angle=1.571"})
    assert app.last_error is None and app.state["variants"] == ["clean", "clean-omega"]
    assert [config_key(c) for c in app.configs()] == app.state["run_keys"]
    sampler = build_sampler("scale:max_log=0.693", "points")
    app.controls["amount"].value = -0.5
    assert app.state["params"] == [pytest.approx(-0.3465)]
    assert app.state["omega"] == pytest.approx(sampler.omega_for("scale", torch.tensor([[-0.3465]]))[0].tolist())
    app.controls["pair"].value = "noisy"
    app.controls["transform"].value = "rotate"
    assert app.last_error is None and app.state["variants"] == ["noisy", "scoreaug"]
    assert len(app.state["run_keys"]) == 2 and all(math.isfinite(v) for d in app.state["distances"].values()
                                                     for v in d.values())
    t = app.update_seconds
    app.controls["amount"].value = 0.3                                     # a re-sample, no training
    assert app.last_error is None and t[-1] < 5
    app.controls["amount"].value = float("nan")                            # refused, the view stays
    assert "amount" in app.last_error and app.controls["amount"].value == 0.3
    app.controls["amount"].value = 0.5
    assert app.last_error is None and app.state["amount"] == 0.5


# --- robustness ---------------------------------------------------------------------------------------
def _hammer(app, values: dict, invalid: dict, n: int = 1000, seed: int = 0) -> list:
    """Random changes, about one in ten invalid (where a control accepts one): each invalid value is refused
    and put back, each valid change is shown without error."""
    rng = random.Random(seed)
    problems = []
    for _ in range(n):
        name = rng.choice(list(values))
        bad = bool(invalid.get(name)) and rng.random() < 0.1
        before = app.controls[name].value
        value = rng.choice(invalid[name] if bad else values[name])
        app.controls[name].value = value
        if bad and (app.last_error is None or app.controls[name].value != before):
            problems.append((name, value, "not refused"))
        elif not bad and value != before and app.last_error is not None:
            problems.append((name, value, app.last_error))
    return problems


def _choices(control):
    return [o[1] if isinstance(o, tuple) else o for o in control.options]


@pytest.mark.slow
def test_overfitting_survives_1000_random_changes(tmp_path):
    app = _overfit(tmp_path, sizes=(8, 16), variants=("noaug", "clean", "scoreaug"), n_samples=64, steps=20,
                   transforms=("rot90,flip", "scale:max_log=0.405"))
    figs = _figure_ids(app)
    values = {name: _choices(c) for name, c in app.controls.items()}
    invalid = {name: [None] for name in values if name != "n_train"}   # the slider itself rejects None
    assert _hammer(app, values, invalid) == []
    assert _figure_ids(app) == figs
    assert np.median(app.update_seconds[-500:]) < 0.25


@pytest.mark.slow
def test_leakage_survives_1000_random_changes(tmp_path):
    app = _leak(tmp_path, n_samples=64, n_train=64, steps=20)
    figs = _figure_ids(app)
    values = {"pair": ["clean", "noisy"], "transform": ["scale", "translate", "rotate"],
              "amount": [round(a, 1) for a in np.arange(-1.0, 1.01, 0.5)], "start_noise": ["matched", "plain"],
              "denoiser": ["network", "optimum"]}
    invalid = {**{name: [None] for name in values}, "amount": [float("nan")]}
    assert _hammer(app, values, invalid) == []
    assert _figure_ids(app) == figs
    assert np.median(app.update_seconds[-500:]) < 0.25
