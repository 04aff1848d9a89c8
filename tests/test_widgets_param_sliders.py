"""widgets.param_sliders: sliders hold exactly the values they are given, and the values typed in their boxes, in the
explorers too."""
import pytest

from scoreaug_lab.widgets import ImageTransformExplorer, OverfittingExplorer, SamplerExplorer, ScoreFieldExplorer
from scoreaug_lab.widgets.param_sliders import choice_slider, round_values, typed_number, value_slider


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


def test_typed_number_is_the_number_or_the_nearest_choice():
    assert typed_number("0.33", [0.1, 1.0], True, 0.01, 10.0) == 0.33               # held exactly, not rounded
    assert typed_number(" \u22120.5 ", [-1.0, 1.0], True) == -0.5                      # ipywidgets' minus sign
    assert typed_number("100", [8, 16, 64, 256], False) == 64                        # |100 - 64| < |100 - 256|
    assert typed_number("40", [8, 16, 64], False) == 16                              # a tie: the smaller
    for text, exact in (("abc", True), ("", True), ("nan", False), ("inf", True), ("20", True), ("0.001", True)):
        with pytest.raises(ValueError):
            typed_number(text, [0.1, 1.0], exact, 0.01, 10.0)


def _typed(app, name, text):
    refreshes = len(app.update_seconds)
    app.controls[name].entry.value = text
    return len(app.update_seconds) - refreshes


@pytest.mark.parametrize("make, name, text, value, state", [
    (lambda tmp: ImageTransformExplorer(digits_size=8, cifar_path=False, n_train=4), "sigma", "0.33", 0.33, "sigma"),
    (lambda tmp: SamplerExplorer(n_samples=8, n_trajectories=1, steps=2, n_reference=50), "sigma_max", "55", 55.0,
     "sigma_max"),
    (lambda tmp: SamplerExplorer(n_samples=8, n_trajectories=1, steps=2, n_reference=50), "sigma_min", "0.0035",
     0.0035, "sigma_min"),
    (lambda tmp: ScoreFieldExplorer(grid_size=3, density_size=3, n_samples=5), "sigma", "0.45", 0.45, "sigma"),
    (lambda tmp: OverfittingExplorer(denoiser="optimum", n_samples=16, store_dir=tmp, background=False), "n_train",
     "30", 32, "n_train")])
def test_a_typed_value_sets_the_slider(tmp_path, make, name, text, value, state):
    """The box beside a selection slider (its own readout ignores typing): the typed value is the control's and the
    view's value after one refresh; a text that is no value is refused in the status line and the value kept."""
    app = make(tmp_path)
    control = app.controls[name]
    assert not control.readout and control.entry.value == control.label
    assert _typed(app, name, text) == 1
    assert control.value == value and app.state[state] == value and app.last_error is None
    assert control.entry.value == control.label == f"{value:g}"
    assert _typed(app, name, "two") == 0
    assert control.value == value and control.entry.value == f"{value:g}" and "refused" in app.status.value
    control.value = control.options[0][1]                                            # the slider moves the box
    assert control.entry.value == control.options[0][0]


@pytest.mark.parametrize("bad", [None, float("nan"), "0.3", 0.31, -1.0])
def test_a_selection_slider_refuses_what_is_not_a_choice_before_it_lands(bad):
    """None as well as a value that is not an option: a TraitError, and the slider (value, index, label, box) still
    holds its last good value (ipywidgets took None, then failed to move the index: the slider held None)."""
    from traitlets import TraitError
    for slider in (value_slider("sigma", 0.3, 0.01, 3.0), choice_slider("n_train", (8, 16), 16)):
        before = (slider.value, slider.index, slider.label, slider.entry.value)
        with pytest.raises(TraitError, match="None is not one of the choices" if bad is None else "not found"):
            slider.value = bad
        assert (slider.value, slider.index, slider.label, slider.entry.value) == before
        slider.value = slider.options[0][1]                                       # and it still moves
        assert slider.index == 0 and slider.entry.value == slider.options[0][0]
