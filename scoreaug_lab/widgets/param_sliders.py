"""Controls the explorers share: sliders over exact values, and each transform's parameter sliders.

A FloatLogSlider moves on a grid of log10 steps, and the browser snaps a value to that grid (step 0.01 turns
sigma = 0.3 into 0.302 and sigma_max = 80 into 79.43). `value_slider` offers a list of round numbers instead
(1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8 per decade, plus the value asked for), so the slider holds exactly the value a
notebook sets and its text quotes.

`ParamSliders` builds one control per `transforms.controls.ParamControl` of a family's transforms (a control
shared by several transforms, e.g. "angle", is one slider) and shows those of the current transform.
"""
from __future__ import annotations

import math

import ipywidgets as W

STYLE = {"description_width": "initial"}
MANTISSAS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8)


def round_values(low: float, high: float) -> list[float]:
    """The numbers m * 10^e (m in MANTISSAS) in [low, high], increasing."""
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high, got {low}, {high}")
    out = []
    for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        out += [float(f"{m}e{e}") for m in MANTISSAS if low <= float(f"{m}e{e}") <= high]
    return out


def value_slider(description: str, value: float, low: float, high: float) -> W.SelectionSlider:
    """A slider over round_values(low, high) and `value` itself (which it holds exactly)."""
    if value is None or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{description}: {value!r} is not a number in [{low}, {high}]")
    values = sorted(set(round_values(low, high)) | {float(value)})
    return W.SelectionSlider(options=[(f"{v:g}", v) for v in values], value=float(value), description=description,
                             continuous_update=True, style=STYLE)


def param_widget(control) -> W.ValueWidget:
    """The ipywidget of one ParamControl, at its default (its grid of steps contains the default)."""
    if control.kind == "bool":
        return W.Checkbox(value=bool(control.default), description=control.label, indent=False)
    if control.kind == "int":
        return W.IntSlider(value=int(control.default), min=int(control.low), max=int(control.high),
                           step=max(1, int(control.step)), description=control.label, style=STYLE)
    return W.FloatSlider(value=control.default, min=control.low, max=control.high, step=control.step,
                         description=control.label, style=STYLE)


class ParamSliders:
    """One widget per parameter control of the given transforms (instances), keyed by the control's name."""

    def __init__(self, transforms):
        self.specs: dict = {}
        for t in transforms:
            for c in t.controls:
                if self.specs.setdefault(c.name, c) != c:
                    raise ValueError(f"two transforms define the control {c.name!r} differently")
        self.widgets = {name: param_widget(c) for name, c in self.specs.items()}
        self.box = W.Box(list(self.widgets.values()), layout=W.Layout(display="flex", flex_flow="row wrap"))

    def show(self, transform) -> None:
        """Show the sliders `transform` reads, hide the others."""
        shown = {c.name for c in transform.controls}
        for name, widget in self.widgets.items():
            widget.layout.display = None if name in shown else "none"

    def values(self, transform) -> dict:
        """{control name: value} of the sliders `transform` reads (display units)."""
        return {c.name: self.widgets[c.name].value for c in transform.controls}


__all__ = ["STYLE", "round_values", "value_slider", "param_widget", "ParamSliders"]
