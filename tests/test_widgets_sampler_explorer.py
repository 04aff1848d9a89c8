"""widgets.sampler_explorer, headless: seeded samples, evaluation counts, memorisation."""
import numpy as np
import pytest

from scoreaug_lab.widgets import SamplerExplorer
from scoreaug_lab.widgets.sampler_explorer import IDEAL, TRUE

from support import fuzz, set_values


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


@pytest.mark.slow
def test_sampler_explorer_survives_a_thousand_random_changes():
    fuzz(SamplerExplorer(n_samples=16, n_trajectories=2, steps=6, max_samples=32, max_steps=8, n_reference=200),
         1000, seed=3)
