"""widgets.widget_app, driven headless: invalid values are refused, said and put back; the app stays usable."""
import pytest
from traitlets import TraitError

from support import set_values


def test_invalid_values_are_refused_and_the_widget_stays_usable(explorer, points):
    set_values(explorer, transform="rotate", angle=20.0)
    explorer.controls["angle"].value = float("nan")
    assert "angle: nan is not a finite number; kept 20.0" in explorer.last_error
    assert "refused" in explorer.status.value and explorer.controls["angle"].value == 20.0   # the good value is back
    with pytest.raises(TraitError):
        explorer.controls["angle"].value = None
    with pytest.raises(TraitError):
        explorer.controls["sigma"].value = float("nan")                       # not one of the slider's values
    set_values(explorer, angle=25.0)
    assert explorer.status.value == "" and explorer.state["title"].startswith("rotate: θ = 25°")
    set_values(points, transform="tanh", strength=1.0)
    points.controls["strength"].value = float("nan")
    assert "strength: nan is not a finite number" in points.last_error and points.controls["strength"].value == 1.0
    set_values(points, strength=1.5)
    assert points.state["title"].startswith("tanh: k = 1.5")


def test_a_slider_set_to_none_keeps_its_value_and_wedges_nothing(explorer, points):
    """Issue 21's case: sigma = None used to raise after the slider already held None, and every later change of
    any other control was refused until sigma was reset by hand."""
    for app in (explorer, points):
        set_values(app, sigma=0.3, noise_seed=0)
        with pytest.raises(TraitError, match="None is not one of the choices"):
            app.controls["sigma"].value = None
        assert app.controls["sigma"].value == 0.3 and app.controls["sigma"].label == "0.3"
        app.controls["noise_seed"].value = 1
        assert app.last_error is None and app.state["sigma"] == 0.3 and app.controls["noise_seed"].value == 1


def test_hold_is_all_or_nothing(points):
    """Several controls set at once: one unusable value (None in a dropdown, NaN in a slider, a value the update
    refuses) or an error inside the block puts every control back; the status line names them."""
    set_values(points, transform="rotate", angle=20.0, noise_seed=0)
    for bad in ({"transform": None}, {"angle": float("nan")}):
        with points.hold():
            points.controls["noise_seed"].value = 5
            for name, value in bad.items():
                points.controls[name].value = value
        assert "refused" in points.status.value and "kept" in points.last_error and "noise_seed=0" in points.last_error
        assert (points.value("transform"), points.value("angle"), points.value("noise_seed")) == ("rotate", 20.0, 0)
    with pytest.raises(TraitError):
        with points.hold():
            points.controls["noise_seed"].value = 6
            points.controls["sigma"].value = None
    assert points.value("noise_seed") == 0 and points.value("sigma") == 0.3
    set_values(points, noise_seed=7, angle=25.0)                                     # and it still works
    assert points.status.value == "" and points.state["title"].startswith("rotate: θ = 25°")


def _boxes(widget):
    """Every box below `widget` (depth first)."""
    import ipywidgets as W
    if isinstance(widget, W.Box):
        yield widget
        for child in widget.children:
            yield from _boxes(child)


def test_rows_wrap_and_sliders_keep_their_width(explorer, points):
    """A narrow output area (a laptop with the side bar open) wraps a row of controls onto the next line rather
    than squeezing its sliders (their tracks collapsed to a bare handle); the browser test measures it."""
    import ipywidgets as W
    for app in (explorer, points):
        rows = [b for b in _boxes(app.widget) if isinstance(b, W.HBox) and len(b.children) > 2]
        assert rows and all(b.layout.flex_flow == "row wrap" for b in rows)
        sliders = [c for c in app.controls.values() if isinstance(c, (W.IntSlider, W.FloatSlider, W.SelectionSlider))]
        assert sliders and all(c.layout.flex == "0 0 auto" for c in sliders)
