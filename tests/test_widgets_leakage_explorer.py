"""widgets.leakage_explorer, headless: the optimum's leak towards the augmented data."""
import math

import numpy as np
import pytest
import torch

from scoreaug_lab.runs.store import config_key
from scoreaug_lab.transforms import build_sampler
from scoreaug_lab.widgets.leakage_explorer import LeakageExplorer

from support import _figure_ids, _hammer

TINY = dict(width=16, depth=1, fourier_features=4)
SETS = ("unconditioned", "conditioned_0", "conditioned_T")


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


def test_the_distance_bars_tell_their_references_apart_without_colour(tmp_path):
    """Each reference's bars carry a hatching of their own (or none), beside their colour and legend label."""
    app = _leak(tmp_path, denoiser="optimum", pair="clean")
    bars = app.view.figures["distances"].data
    shapes = [bar.marker.pattern.shape or "" for bar in bars]
    assert len(bars) == 3 and len(set(shapes)) == 3, shapes
    assert [bar.name for bar in bars] == ["to the data", "to T(data)", "to the augmented data"]
