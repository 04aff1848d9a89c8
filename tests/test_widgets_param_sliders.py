"""widgets.param_sliders: sliders hold exactly the values they are given, in the explorers too."""
import pytest

from scoreaug_lab.widgets import ImageTransformExplorer, SamplerExplorer, ScoreFieldExplorer
from scoreaug_lab.widgets.param_sliders import round_values, value_slider


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
