"""OverfittingExplorer and LeakageExplorer driven headless, and the oracles behind them.

The optimal denoisers of the variants are checked against closed forms (the ideal denoiser, its transformed
versions, Gaussian log-densities from torch.distributions); the widgets are checked against what the
mathematics says their figures must show (training points shown exactly, memorisation of the optimum equal
to the weight of its identity components, the leak of the unconditioned optimum towards the augmented data).
"""
import math
import random

import numpy as np
import pytest
import torch

from scoreaug_lab.cli import main as cli_main
from scoreaug_lab.metrics import sliced_wasserstein
from scoreaug_lab.scores import ideal_denoiser
from scoreaug_lab.training import TrainConfig, train
from scoreaug_lab.transforms import build_sampler, get_transform
from scoreaug_lab.widgets import LeakageExplorer, OverfittingExplorer
from scoreaug_lab.widgets.leakage import params_at, projected_quantiles, sliced_w2
from scoreaug_lab.widgets.overfitting import oracle_draws
from scoreaug_lab.widgets.runcache import RunCache, config_key, list_runs
from scoreaug_lab.widgets.variant_optima import MixtureOptimum, affine_parts, transform_draws, variant_optimum

TINY = dict(width=16, depth=1, fourier_features=4)
CLI_TINY = ["--n-heldout", "100", "--batch-size", "16", "--no-progress", "--model-opt", "width=16",
            "--model-opt", "depth=1", "--model-opt", "fourier_features=4"]


def _points(n, seed, scale=0.6):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


# --- the oracles --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.02, 0.3, 3.0])
def test_conditioned_optima_are_transformed_ideal_denoisers(sigma):
    train, y = _points(48, 0), _points(64, 1, 1.0)
    sampler = build_sampler("scale,translate,rotate", "points", 0.5)
    # omega = 0 and noaug: the ideal denoiser of the training set
    for variant in ("noaug", "clean-omega", "scoreaug"):
        assert (variant_optimum(train, variant, sampler)(y, sigma) - ideal_denoiser(y, sigma, train)).abs().max() < 1e-7
    for name, value in [("scale", 0.4), ("translate", 0.3), ("rotate", 1.1)]:
        t = sampler.transforms[sampler.index(name)]
        p = torch.full((1, t.n_params), value, dtype=torch.float64)
        t_y, t_train = p.expand(len(y), -1), p.expand(len(train), -1)
        # ScoreAug told omega_T: T D*(T^-1 y; sigma), the equivariant optimum
        got = variant_optimum(train, "scoreaug", sampler, at=(name, p))(y, sigma)
        want = t.apply(ideal_denoiser(t.inverse(y, t_y), sigma, train), t_y)
        assert (got - want).abs().max() < 1e-7
        # clean-omega told omega_T: the ideal denoiser of the set T(x_i) at the same sigma
        got = variant_optimum(train, "clean-omega", sampler, at=(name, p))(y, sigma)
        assert (got - ideal_denoiser(y, sigma, t.apply(train, t_train))).abs().max() < 1e-7


def test_mixture_optimum_matches_gaussian_posterior_mean():
    """Unconditioned optima: posterior mean over (i, j) with N(T_j x_i, sigma^2 I) (clean) or
    N(T_j x_i, sigma^2 A_j A_j^T) (noisy); reference densities from torch.distributions."""
    train, y, sigma = _points(20, 2), _points(30, 3, 1.0), 0.4
    t = get_transform("shear")
    a, b = affine_parts(t, torch.tensor([[0.0], [0.7], [-0.4]], dtype=torch.float64))
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    values = torch.einsum("jkl,nl->jnk", a, train) + b[:, None]                    # (J, N, 2)
    for space in ("clean", "noisy"):
        cov = sigma**2 * (torch.eye(2, dtype=torch.float64)[None] if space == "clean" else a @ a.transpose(1, 2))
        dist = torch.distributions.MultivariateNormal(values, covariance_matrix=cov[:, None].expand(-1, 20, -1, -1))
        logw = dist.log_prob(y[:, None, None]) + weights.log()[None, :, None]      # (B, J, N)
        w = torch.softmax(logw.reshape(len(y), -1), dim=1)
        want = w @ values.reshape(-1, 2)
        got = MixtureOptimum(train, (a, b), weights, space)(y, sigma)
        assert (got - want).abs().max() < 1e-7
    # equal weights over {I, T} in clean space = the ideal denoiser of the union of both sets
    got = MixtureOptimum(train, (a[:2], b[:2]), [1.0, 1.0], "clean")(y, sigma)
    assert (got - ideal_denoiser(y, sigma, values[:2].reshape(-1, 2))).abs().max() < 1e-7
    # float32 (the widgets' speed setting) stays close
    got32 = MixtureOptimum(train, (a, b), weights, "noisy", dtype=torch.float32)(y, sigma)
    assert got32.dtype == torch.float32 and (got32.double() - want).abs().max() < 1e-4


def test_affine_parts_and_quantised_draws():
    t = get_transform("rotate")
    a, b = affine_parts(t, torch.tensor([[math.pi / 2]]))
    assert (a - torch.tensor([[[0.0, -1.0], [1.0, 0.0]]], dtype=torch.float64)).abs().max() < 1e-6
    assert b.abs().max() < 1e-12
    with pytest.raises(ValueError, match="not affine"):
        affine_parts(get_transform("tanh"), torch.zeros(1, 1))
    params, counts = transform_draws(get_transform("rot90"), 16)       # discrete: each element once
    assert params.flatten().tolist() == [0.0, 1.0, 2.0, 3.0] and counts.sum() == 16 * 64
    scale = get_transform("scale", max_log=0.6)
    params, counts = transform_draws(scale, 8)                            # continuous: nearly even spacing
    p = params.flatten().sort().values
    assert len(p) == 8 and p.min() >= -0.6 and p.max() <= 0.6
    gaps = p.diff()
    assert gaps.max() < 2.0 * gaps.min() and abs(gaps.mean().item() - 1.2 / 8) < 0.03


def test_quantile_tables_give_the_sliced_wasserstein_distance():
    a, b = _points(300, 4), _points(500, 5, 0.8) + 0.2
    assert abs(sliced_w2(projected_quantiles(a, seed=3), projected_quantiles(b, seed=3))
               - sliced_wasserstein(a, b, seed=3)) < 1e-12


def test_params_at_maps_amounts_to_parameters():
    assert params_at(get_transform("scale", max_log=0.5), 0.5).item() == pytest.approx(0.25)
    assert params_at(get_transform("translate", max_shift=0.8), -1).tolist() == [[pytest.approx(-0.8), 0.0]]
    assert params_at(get_transform("rot90"), 1.0).item() == 3
    assert params_at(get_transform("flip"), 0.2).item() == 0
    with pytest.raises(ValueError, match="amount"):
        params_at(get_transform("scale"), 1.5)


# --- the run cache ------------------------------------------------------------------------------------
def test_run_cache_trains_once_then_loads_from_disk(tmp_path):
    config = TrainConfig(data="toy:gmm8", n_train=16, n_heldout=100, steps=12, batch_size=16, model_kwargs=TINY,
                         log_every=4, ckpt_every=12, eval_every=6)
    cache = RunCache(tmp_path)
    seen = []
    run = cache.get(config, progress=lambda step, total: seen.append((step, total)))
    assert seen[-1] == (12, 12) and run.step == 12 and run.run_dir == tmp_path / config_key(config)
    assert [m["step"] for m in run.metrics if "eval" in m] == [6, 12]
    assert cache.get(config) is run                                       # memory
    fresh = RunCache(tmp_path).cached(config)                             # disk, no training
    assert fresh is not None and fresh.step == 12
    x = torch.tensor([[0.3, -0.2]])
    assert (fresh.model(x, torch.tensor([0.5])) - run.model(x, torch.tensor([0.5]))).abs().max() == 0
    assert cache.samples(run, 8) is cache.samples(run, 8)                 # memoised
    other = TrainConfig.from_dict({**config.to_dict(), "seed": 1})
    assert config_key(other) != config_key(config) and cache.cached(other) is None


# --- OverfittingExplorer ------------------------------------------------------------------------------
def _overfit(tmp_path, **kw):
    options = dict(steps=40, n_samples=128, model_kwargs=TINY, cache_dir=tmp_path / "cache", background=False)
    return OverfittingExplorer(**{**options, **kw})


def test_overfitting_optimum_memorises_and_truth_does_not(tmp_path):
    app = _overfit(tmp_path, denoiser="optimum", sizes=(8, 32, 128))
    figs = {k: id(v) for k, v in app.figures.items()}
    for n in (8, 128, 32):
        app.controls["n_train"].value = n
        assert app.last_error is None
        assert app.state["n_train_shown"] == n and len(app.figures["samples"].data[0].x) == n
        assert len(app.figures["samples"].data[1].x) == 128
        assert app.state["memorised_fraction"] > 0.95                     # the ideal denoiser copies
        assert app.state["loss_train"][0] < app.state["loss_heldout"][0]  # and fits its set better
    assert sorted(app.state["memorisation_curve"]) == [8, 32, 128]
    assert list(app.figures["memorisation"].data[0].x) == [8, 32, 128]
    # the true-distribution denoiser samples fresh data: memorisation at the fresh-data level
    app.controls["denoiser"].value = "truth"
    assert abs(app.state["memorised_fraction"] - app.state["fresh_memorised_fraction"]) < 0.12
    assert app.state["memorised_fraction"] < 0.5
    # the unconditioned augmented optimum copies T(x_i): copies of training points only through its
    # identity components (weight w_id), plus chance closeness at the fresh-data rate
    app.controls["denoiser"].value = "optimum"
    app.controls["variant"].value = "clean"
    sampler = build_sampler("rot90,flip", "points", 0.5)
    oracle = variant_optimum(app._data(32).train, "clean", sampler, n_draws=oracle_draws(32))
    identity = (oracle.a - torch.eye(2, dtype=torch.float64)).abs().amax((1, 2)) < 1e-7
    w_id = oracle.log_prior.exp()[identity].sum().item()
    expected = w_id + (1 - w_id) * app.state["fresh_memorised_fraction"]
    assert 0.6 < w_id < 0.75 and abs(app.state["memorised_fraction"] - expected) < 0.12
    assert {k: id(v) for k, v in app.figures.items()} == figs


def test_overfitting_trains_on_the_fly_and_caches(tmp_path):
    app = _overfit(tmp_path, sizes=(16, 32), n_train=16)
    assert app.last_error is None and app.state["run_key"] == config_key(app.config())
    first = app.state["run_dir"]
    evals = [m["step"] for m in app.cache.load(first).metrics if "eval" in m]
    assert app.state["loss_steps"] == evals == [4 * k for k in range(1, 11)]
    assert list(app.figures["loss"].data[0].x) == evals
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


def test_overfitting_reads_a_runs_folder(tmp_path):
    runs = tmp_path / "runs"
    for n in (16, 48):
        assert cli_main(["train", "--steps", "8", "--n-train", str(n), "--eval-every", "4", "--out",
                         str(runs / f"gmm_n{n}"), *CLI_TINY]) == 0
    train(TrainConfig(data="digits:8", n_train=32, n_heldout=32, steps=2, batch_size=8, progress=False,
                      out=str(runs / "digits"), model_kwargs=dict(model_channels=8, channel_mult=(1,),
                                                                   mid_attention=False)))
    assert [p.name for p in list_runs(runs)] == ["digits", "gmm_n16", "gmm_n48"]
    app = _overfit(tmp_path, runs_dir=runs, image_samples=4)
    figs = {k: id(v) for k, v in app.figures.items()}
    options = dict((v, k) for k, v in app.controls["run"].options)
    assert "(noaug, n=48, toy:gmm8)" in options[str(runs / "gmm_n48")]
    app.controls["run"].value = str(runs / "gmm_n48")
    assert app.last_error is None and app.state["n_train"] == 48 and app.state["n_train_shown"] == 48
    assert app.state["loss_steps"] == [4, 8] and app.state["kind"] == "points"
    app.controls["run"].value = str(runs / "digits")                      # an image run: a sample grid
    assert app.last_error is None and app.state["kind"] == "images" and app.state["n_samples_shown"] == 4
    assert app._grid_box.layout.display == "" and app._scatter_box.layout.display == "none"
    assert app.figures["grid"].data[0].source.startswith("data:image/png;base64,")
    assert app.state["loss_steps"] == []                                  # no eval lines in that run
    assert {k: id(v) for k, v in app.figures.items()} == figs
    assert cli_main(["train", "--steps", "4", "--n-train", "8", "--out", str(runs / "late"), *CLI_TINY]) == 0
    app.rescan()                                                          # a run written since
    assert str(runs / "late") in dict((v, k) for k, v in app.controls["run"].options)
    assert app.last_error is None and app.state["kind"] == "images"      # the selection is kept


def test_bad_arguments_are_clear(tmp_path):
    with pytest.raises(ValueError, match="toy"):
        OverfittingExplorer(data="digits", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="n_train"):
        OverfittingExplorer(sizes=(8, 16), n_train=64, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="truth|denoiser"):
        OverfittingExplorer(data="toy:moons", denoiser="truth", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="pair"):
        LeakageExplorer(pair="sideways", cache_dir=tmp_path)
    with pytest.raises(FileNotFoundError):
        OverfittingExplorer(runs_dir=tmp_path / "none", cache_dir=tmp_path)


# --- LeakageExplorer ----------------------------------------------------------------------------------
def _leak(tmp_path, **kw):
    options = dict(steps=40, n_samples=256, n_train=128, model_kwargs=TINY, cache_dir=tmp_path / "cache",
                   background=False)
    return LeakageExplorer(**{**options, **kw})


@pytest.mark.parametrize("pair", ["clean", "noisy"])
def test_leakage_of_the_optima(tmp_path, pair):
    """The optimum without omega samples the augmented law (a mixture of transformed training points): it is
    closer to the augmented data and farther from the data than the conditioned optimum at omega = 0,
    which reproduces the data; at omega_T the conditioned optimum gives T(data)."""
    app = _leak(tmp_path, denoiser="optimum", pair=pair)
    figs = {k: id(v) for k, v in app.figures.items()}
    for name in ("scale", "translate", "rotate"):
        app.controls["transform"].value = name
        assert app.last_error is None
        d = app.state["distances"]
        assert d["unconditioned"]["augmented"] < d["conditioned_0"]["augmented"]
        assert d["conditioned_0"]["data"] < d["unconditioned"]["data"] and app.state["leak"] > 0
        assert d["conditioned_T"]["transformed"] < 0.5 * d["conditioned_T"]["data"]
        assert d["conditioned_0"]["data"] < 0.5 * d["conditioned_0"]["transformed"]
        assert list(app.figures["distances"].data[0].y) == [d[s]["data"] for s in
                                                           ("unconditioned", "conditioned_0", "conditioned_T")]
    # amount 0: omega_T is the identity, so both conditioned panels show the same samples (float32 rounding)
    app.controls["amount"].value = 0.0
    s = app.state["samples"]
    assert app.state["omega"] == [0.0, 0.0] and (s["conditioned_T"] - s["conditioned_0"]).abs().max() < 1e-4
    assert {k: id(v) for k, v in app.figures.items()} == figs


def test_leakage_start_noise_matters_for_scoreaug_with_scaling(tmp_path):
    """ScoreAug told omega = scale a expects noise a * sigma; started from plain noise it misses T(data)."""
    app = _leak(tmp_path, denoiser="optimum", pair="noisy")
    matched = app.state["distances"]["conditioned_T"]["transformed"]
    assert app.state["start_noise_transformed"] is True and app.state["params"] == [pytest.approx(0.693)]
    app.controls["start_noise"].value = "plain"
    assert app.state["start_noise_transformed"] is False
    assert app.state["distances"]["conditioned_T"]["transformed"] > 1.5 * matched


def test_leakage_with_trained_networks(tmp_path):
    app = _leak(tmp_path, transforms={"scale": "scale:max_log=0.693", "rotate": "rotate:max_angle=1.571"})
    assert app.last_error is None and app.state["variants"] == ["clean", "clean-omega"]
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


def test_leakage_reads_a_runs_folder(tmp_path):
    runs = tmp_path / "runs"
    for variant in ("clean", "clean-omega"):
        assert cli_main(["train", "--steps", "6", "--data", "toy:moons", "--n-train", "32", "--variant", variant,
                         "--transforms", "scale,rotate", "--out", str(runs / variant), *CLI_TINY]) == 0
    app = _leak(tmp_path, runs_dir=runs, n_samples=64)
    assert app.last_error is None and app.state["variants"] == ["clean", "clean-omega"]
    assert list(app.controls["transform"].options) == ["scale", "rotate"]
    app.controls["transform"].value = "rotate"
    assert app.last_error is None and app.state["transform"] == "rotate" and len(app.state["omega"]) == 3
    with pytest.raises(ValueError, match="with omega"):
        _leak(tmp_path, runs_dir=runs / "clean")


# --- robustness ---------------------------------------------------------------------------------------
def _hammer(app, values: dict, n: int = 1000, seed: int = 0) -> list:
    rng = random.Random(seed)
    errors = []
    for _ in range(n):
        name = rng.choice(list(values))
        app.controls[name].value = rng.choice(values[name])
        if app.last_error is not None:
            errors.append(app.last_error)
    return errors


@pytest.mark.slow
def test_overfitting_survives_1000_random_changes(tmp_path):
    app = _overfit(tmp_path, sizes=(8, 16), variants=("noaug", "clean", "scoreaug"), n_samples=64, steps=20,
                   transforms=("rot90,flip", "scale:max_log=0.405"))
    figs = {k: id(v) for k, v in app.figures.items()}
    values = {name: [v for _, v in c.options] if isinstance(c.options[0], tuple) else list(c.options)
              for name, c in app.controls.items()}
    assert _hammer(app, values) == []
    assert {k: id(v) for k, v in app.figures.items()} == figs
    assert np.median(app.update_seconds[-500:]) < 0.25


@pytest.mark.slow
def test_leakage_survives_1000_random_changes(tmp_path):
    app = _leak(tmp_path, n_samples=64, n_train=64, steps=20)
    figs = {k: id(v) for k, v in app.figures.items()}
    values = {"pair": ["clean", "noisy"], "transform": ["scale", "translate", "rotate"],
              "amount": [round(a, 1) for a in np.arange(-1.0, 1.01, 0.5)], "start_noise": ["matched", "plain"],
              "denoiser": ["network", "optimum"]}
    assert _hammer(app, values) == []
    assert {k: id(v) for k, v in app.figures.items()} == figs
    assert np.median(app.update_seconds[-500:]) < 0.25
