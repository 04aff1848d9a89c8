"""widgets.overfitting_explorer, headless: figures against the optima's memorisation."""
import numpy as np
import pytest
import torch

from scoreaug_lab.lab.memorisation_curve import oracle_draws, stored_data
from scoreaug_lab.optima import variant_optimum
from scoreaug_lab.presets import toy_config
from scoreaug_lab.runs.store import config_key
from scoreaug_lab.transforms import build_sampler
from scoreaug_lab.widgets.leakage_explorer import LeakageExplorer
from scoreaug_lab.widgets.overfitting_explorer import OverfittingExplorer

from support import _figure_ids, _hammer

TINY = dict(width=16, depth=1, fourier_features=4)


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


def test_n_train_set_to_none_keeps_its_value_and_wedges_nothing(tmp_path):
    from traitlets import TraitError
    app = _overfit(tmp_path, denoiser="optimum", sizes=(8, 16), n_train=16)
    with pytest.raises(TraitError, match="None is not one of the choices"):
        app.controls["n_train"].value = None
    assert app.controls["n_train"].value == 16
    app.controls["band"].value = 0
    assert app.last_error is None and app.state["n_train"] == 16 and app.controls["band"].value == 0


@pytest.mark.parametrize("background", [False, True])
def test_a_failed_training_is_tried_again_when_asked_again(tmp_path, monkeypatch, background):
    """A full disk while a setting trains: the status line says so, and that asking again retries; once there is
    room, asking again trains it (the widget used to show "No space left" for that setting until re-created)."""
    app = _overfit(tmp_path, denoiser="optimum", sizes=(8, 16), n_train=8, steps=20, background=background)
    real_get, full = app.store.get, [True]

    def get(config, progress=None, **kwargs):
        if full[0]:
            raise OSError(28, "No space left on device")
        return real_get(config, progress, **kwargs)

    monkeypatch.setattr(app.store, "get", get)
    app.controls["denoiser"].value = "network"
    app.wait(120)
    assert "No space left on device" in app.last_error and "ask for it again to retry" in app.last_error
    assert app.controls["denoiser"].value == ("network" if background else "optimum")   # sync: refused, kept
    full[0] = False                                                                     # the disk was freed
    if background:
        app.controls["band"].value = 0                                                  # any request asks again
        app.wait(120)
    else:
        app.controls["denoiser"].value = "network"
    assert app.last_error is None and app.state["run_key"] == config_key(app.config())


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


# --- robustness ---------------------------------------------------------------------------------------
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
