"""Controls the explorers share: sliders over exact values, and each transform's parameter sliders.

A FloatLogSlider moves on a grid of log10 steps, and the browser snaps a value to that grid (step 0.01 turns
sigma = 0.3 into 0.302 and sigma_max = 80 into 79.43). `value_slider` offers a list of round numbers instead
(1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8 per decade, plus the value asked for), so the slider holds exactly the value a
notebook sets and its text quotes.

ipywidgets draws a SelectionSlider's readout as editable text but never reads what is typed there (Enter adds a
new line, the value stays). `TypedSelectionSlider` hides that readout and shows a text box in its place: a number
typed there and Enter (or leaving the box) sets the slider (`WidgetApp` does it, with one refresh, and refuses
what cannot be a value, as for any control). A value slider takes the typed number itself (added to its values,
held exactly); a slider over fixed choices (n_train) takes the nearest choice.

`ParamSliders` builds one control per `transforms.controls.ParamControl` of a family's transforms (a control
shared by several transforms, e.g. "angle", is one slider) and shows those of the current transform.
"""
from __future__ import annotations

import math

import ipywidgets as W
from traitlets import Any, TraitError, validate

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


def labelled(values) -> list[tuple[str, float]]:
    """(label, value) options of a slider over numbers: the shortest text of each ("0.3", "80", "64")."""
    return [(f"{v:g}", v) for v in values]


def typed_number(text: str, values, exact: bool, low: float | None = None, high: float | None = None):
    """The value a text typed into a slider's box stands for: the number itself (exact: it must lie in
    [low, high]) or the nearest of `values` (a slider over fixed choices). ValueError if it is not a number or
    out of range."""
    try:
        number = float(str(text).strip().replace("\u2212", "-"))
    except ValueError:
        raise ValueError(f"{str(text).strip()!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{number} is not a finite number")
    if not exact:
        return min(values, key=lambda v: (abs(v - number), v))
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    if not low <= number <= high:
        raise ValueError(f"{number:g} is not in [{low:g}, {high:g}]")
    return number


class TypedSelectionSlider(W.SelectionSlider):
    """A SelectionSlider over numbers with a text box in place of its readout, to type a value (see the module
    docstring). Show `slider.box` (the slider and its box); register the slider itself as the control.

    exact: a typed number in [low, high] is taken as it is (`with_value` adds it to the options); else the nearest
    option is taken."""

    def __init__(self, values, value, description: str, exact: bool = True, low: float | None = None,
                 high: float | None = None, **kwargs):
        super().__init__(options=labelled(values), value=value, description=description, readout=False,
                         style=STYLE, **kwargs)
        self.exact, self.low, self.high = bool(exact), low, high
        self.entry = W.Text(value=self.label, continuous_update=False, layout=W.Layout(width="4.5em"),
                            tooltip=f"type a value of {description}, then Enter")
        self.observe(self._show_label, names="label")
        self.box = W.HBox([self, self.entry], layout=W.Layout(align_items="center", overflow="visible"))

    value = Any(None, help="Selected value (one of the options, never None)")
    value.allow_none = False                   # traitlets' Any takes None whatever its arguments say

    @validate("value")
    def _validate_value(self, proposal):
        """None is refused before it lands, as a value that is not an option is: ipywidgets would take it, then
        fail to move the index, leaving the slider holding None (and every later update refused)."""
        if proposal.value is None:
            raise TraitError(f"{self.description}: None is not one of the choices; kept {self.value!r}")
        return super()._validate_value(proposal)

    def _show_label(self, change) -> None:
        self.entry.value = change["new"] or ""

    def values(self) -> list:
        return [v for _, v in self.options]

    def typed(self, text: str):
        """The value `text` stands for (typed_number); ValueError if none."""
        return typed_number(text, self.values(), self.exact, self.low, self.high)

    def with_value(self, value) -> None:
        """Add `value` to the options if it is not one (setting options moves the slider to the first option:
        call it inside `WidgetApp.hold`, then set the value)."""
        if value not in self.values():
            self.options = labelled(sorted(self.values() + [value]))


def value_slider(description: str, value: float, low: float, high: float) -> TypedSelectionSlider:
    """A slider over round_values(low, high) and `value` itself (which it holds exactly); typed values in
    [low, high] are held exactly too."""
    if value is None or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{description}: {value!r} is not a number in [{low}, {high}]")
    values = sorted(set(round_values(low, high)) | {float(value)})
    return TypedSelectionSlider(values, float(value), description, exact=True, low=low, high=high,
                                continuous_update=True)


def choice_slider(description: str, values, value, **kwargs) -> TypedSelectionSlider:
    """A slider over fixed numeric choices (e.g. training-set sizes); a typed number picks the nearest choice."""
    return TypedSelectionSlider(list(values), value, description, exact=False, **kwargs)


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


__all__ = ["STYLE", "round_values", "labelled", "typed_number", "TypedSelectionSlider", "value_slider",
           "choice_slider", "param_widget", "ParamSliders"]
