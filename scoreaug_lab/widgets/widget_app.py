"""The pattern every widget follows: controls (ipywidgets) observed by one `refresh`, which recomputes and
updates plotly FigureWidgets *in place* (never re-creating them), and times itself.

A widget is a class; a notebook only creates it and displays it:

    app = TransformExplorer()
    app                      # shows app.widget

Headless use (tests, benchmarks): set `app.controls["sigma"].value = 0.5` and read `app.state` (the numbers
behind the figures) or `app.figures[...]`. An error inside an update never propagates to the notebook: it is
shown in the widget's status line and kept in `app.last_error` (tests assert it stays None) and in the list
`app.errors` (every error caught, so a long run of changes can be checked at its end). Several controls can be
set with one refresh: `with app.hold(): ...`.
"""
from __future__ import annotations

import contextlib
import math
import time
import traceback

import ipywidgets as W


SLIDERS = (W.IntSlider, W.FloatSlider, W.FloatLogSlider, W.SelectionSlider)


def row(*children, **layout) -> W.HBox:
    """Controls (or figures) side by side that wrap onto the next line where the output area is too narrow for
    them (a laptop window with JupyterLab's side bar open), instead of squeezing sliders to a bare handle."""
    return W.HBox(list(children), layout=W.Layout(flex_flow="row wrap", align_items="center", **layout))


LABEL_CHAR_PX = 7           # a control's label: about 7 px per character (JupyterLab's 13 px font)
SLIDER_ROOM_PX = 220        # a slider's track and its readout, beside the label


def keep_width(control) -> None:
    """A slider is wide enough for its label and a track (measured in Chromium: 120 px or more for every label of
    the explorers), and a row never shrinks it (ipywidgets gives every slider 300 px whatever its label, which left
    "image (held-out)" a 95-px track, and a row squeezed tracks to a bare handle)."""
    if isinstance(control, SLIDERS):
        label = LABEL_CHAR_PX * len(control.description or "")
        control.layout.width = f"{max(300, label + SLIDER_ROOM_PX)}px"
        control.layout.flex = "0 0 auto"


def invalid_value(control, value) -> str | None:
    """Why `value` cannot be shown (None, a non-finite number, not one of the control's choices), else None."""
    if value is None:
        return "no value (None)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number"
    options = getattr(control, "options", None)
    if options is not None:
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        if value not in values:
            return f"{value!r} is not one of the choices"
    return None


class WidgetApp:
    """Base class: subclasses build controls and figures in `__init__`, then call `self._finish(layout)`."""

    title = "widget"

    def __init__(self):
        self.controls: dict = {}
        self.figures: dict = {}
        self.state: dict = {}
        self.update_seconds: list[float] = []
        self.last_error: str | None = None
        self.errors: list[str] = []          # every error ever caught (last_error is reset on success)
        self.status = W.HTML(value="")
        self._ready = False
        self.widget = None

    # --- building -------------------------------------------------------------------------------
    def add_control(self, name: str, control: W.ValueWidget) -> W.ValueWidget:
        """Register a control; any change of its value triggers `refresh`. A control with a text box to type its
        value in (param_sliders.TypedSelectionSlider: `entry`, `typed`) takes typed values too (`type_value`)."""
        self.controls[name] = control
        keep_width(control)
        control.observe(self._on_change, names="value")
        if hasattr(control, "entry"):
            control.entry.observe(lambda change: self.type_value(name, change["new"]), names="value")
        return control

    def type_value(self, name: str, text: str) -> None:
        """What a student types into the box of control `name`: its value (one refresh), or a refusal in the
        status line (the box shows the kept value again)."""
        control = self.controls[name]
        if text == control.label:
            return                                  # the box was set to the slider's own label
        try:
            value = control.typed(text)
        except ValueError as err:
            control.entry.value = control.label
            self.last_error = f"ValueError: {name}: {err}; kept {control.value!r}"
            self.errors.append(self.last_error)
            self.status.value = f"<span style='color:#b00'>refused: {self.last_error}</span>"
            return
        if value == control.value:
            control.entry.value = control.label      # e.g. "0.30" typed for 0.3: show the label
            return
        with self.hold():
            control.with_value(value)
            control.value = value

    def _finish(self, *children) -> None:
        """Assemble the layout, compute the first view, and start reacting to changes."""
        self.widget = W.VBox([W.HTML(f"<b>{self.title}</b>"), *children, self.status])
        self._ready = True
        self.refresh()

    # --- updating -------------------------------------------------------------------------------
    def _on_change(self, change) -> None:
        """Refresh for the new value; a value the widget cannot use (None, NaN, not a choice, or one the update
        rejects) is refused: the last good value goes back, the view is redrawn and the status line says why."""
        if not self._ready:
            return
        problem = invalid_value(change["owner"], change["new"])
        if problem is None:
            self.refresh()
            if self.last_error is None:
                return
            problem = self.last_error
        self._refuse(change, problem)

    def _refuse(self, change, problem: str) -> None:
        name = next((k for k, c in self.controls.items() if c is change["owner"]), "a control")
        with self.hold(refresh=False):
            change["owner"].value = change["old"]
        if change["new"] is not None and invalid_value(change["owner"], change["new"]) is None:
            self.refresh()                      # the update ran with the refused value: draw the good one again
        self.last_error = f"ValueError: {name}: {problem}; kept {change['old']!r}"
        self.errors.append(self.last_error)
        self.status.value = f"<span style='color:#b00'>refused: {self.last_error}</span>"

    @contextlib.contextmanager
    def hold(self, refresh: bool = True):
        """Change several controls (or their options) without a refresh per change, then one refresh
        (refresh=False inside `update`, which is already refreshing)."""
        ready, self._ready = self._ready, False
        try:
            yield
        finally:
            self._ready = ready
        if ready and refresh:
            self.refresh()

    def refresh(self) -> None:
        """Recompute and update every figure in place; time it; never raise into the notebook."""
        t0 = time.perf_counter()
        try:
            self.update()
            self.last_error = None
            self.status.value = ""
        except Exception as err:  # shown to the student, kept for tests
            self.last_error = "".join(traceback.format_exception_only(type(err), err)).strip()
            self.errors.append(self.last_error)
            self.status.value = f"<span style='color:#b00'>could not update: {self.last_error}</span>"
        self.update_seconds.append(time.perf_counter() - t0)

    def update(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def value(self, name: str):
        return self.controls[name].value

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)
