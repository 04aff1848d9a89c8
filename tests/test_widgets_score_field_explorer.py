"""widgets.score_field_explorer, headless: library fields, a model's against Tweedie."""
import numpy as np
import pytest
import torch

from scoreaug_lab.data import ring_mixture
from scoreaug_lab.denoiser import as_denoiser
from scoreaug_lab.runs.store import get_store
from scoreaug_lab.widgets import ScoreFieldExplorer

from support import fuzz, set_values


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
    assert model is field.model and s["model_source"] == "the lesson's run" and len(tr["model"].x) > 0
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
    assert field.trainer.wait(120) and field.last_error is None and field.model_source == "the lesson's run"
    assert "model:" in field.train_status.value


def test_the_button_loads_the_lessons_prepared_run(tmp_path, monkeypatch):
    """Notebook 01's button gives the lesson's model (lessons "01", at the lesson's steps: 1,500 when teaching,
    not a 400-step model of its own): from a prepared store it loads it, with training forbidden, and shows the
    same run the notebook loaded."""
    from scoreaug_lab.course import lessons
    from scoreaug_lab.runs.store import config_key

    lesson = lessons.get("01", size="test")
    monkeypatch.setenv("SCOREAUG_SIZE", "test")
    store = get_store(tmp_path / "runs")
    prepared = store.get(lesson.model_config())                          # what `scoreaug-lab prepare 01` does
    monkeypatch.setenv("SCOREAUG_FORBID_TRAINING", "1")
    app = ScoreFieldExplorer(grid_size=5, density_size=8, n_samples=20, model=prepared.model, store=store)
    assert config_key(app.model_config()) == config_key(lesson.model_config()) == prepared.key
    app.buttons["train"].click()
    assert app.trainer is None and app.last_error is None, "a prepared run is loaded, not trained"
    assert app.model is prepared.model and app.model_source == "the lesson's run"
    assert f"{lesson.model_steps} steps" in app.train_status.value


@pytest.mark.slow
def test_score_field_explorer_survives_a_thousand_random_changes():
    fuzz(ScoreFieldExplorer(grid_size=5, density_size=8, n_samples=20), 1000, seed=2)
