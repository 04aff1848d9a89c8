"""The pattern every widget follows: controls (ipywidgets) observed by one `refresh`, which recomputes and
updates plotly FigureWidgets *in place* (never re-creating them), and times itself.

A widget is a class; a notebook only creates it and displays it:

    app = TransformExplorer()
    app                      # shows app.widget

Headless use (tests, benchmarks): set `app.controls["sigma"].value = 0.5` and read `app.state` (the numbers
behind the figures) or `app.figures[...]`. An error inside an update never propagates to the notebook: it is
shown in the widget's status line and kept in `app.last_error` (tests assert it stays None) and in the list
`app.errors` (every error caught, so a long run of changes can be checked at its end). Several controls can be
set with one refresh: `with app.hold(): ...` (all or nothing: one unusable value puts every control back).
A control never keeps a value it cannot use: None, NaN, a value that is not one of its choices or of the wrong
type is refused (by the control itself, a TraitError, or in the status line), and its last good value stays.
"""
from __future__ import annotations

import contextlib
import math
import time
import traceback

import ipywidgets as W
from traitlets import TraitError


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


def _same(a, b) -> bool:
    return a is b or a == b


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
        self._say_refused(f"ValueError: {name}: {problem}; kept {change['old']!r}")

    def _say_refused(self, error: str) -> None:
        self.last_error = error
        self.errors.append(error)
        self.status.value = f"<span style='color:#b00'>refused: {error}</span>"

    @contextlib.contextmanager
    def hold(self, refresh: bool = True):
        """Change several controls (or their options) without a refresh per change, then one refresh
        (refresh=False inside `update`, which is already refreshing). All or nothing: when a value set inside
        cannot be used (None, NaN, not a choice, refused by the update) or the block raises, every control
        goes back to its value before the block (the status line says why)."""
        ready, self._ready = self._ready, False
        before = {name: c.value for name, c in self.controls.items()} if ready and refresh else None
        try:
            yield
        except BaseException:
            if before is not None:
                self._put_back(before)
            raise
        finally:
            self._ready = ready
        if before is not None:
            self._refresh_or_put_back(before)

    def _refresh_or_put_back(self, before: dict) -> None:
        changed = {n: c.value for n, c in self.controls.items() if not _same(c.value, before[n])}
        problem = next((f"{n}: {p}" for n, v in changed.items() if (p := invalid_value(self.controls[n], v))), None)
        if problem is None:
            self.refresh()
            if self.last_error is None or not changed:
                return
            problem = f"{', '.join(changed)}: {self.last_error}"
        self._put_back(before)
        self.refresh()
        self._say_refused(f"ValueError: {problem}; kept {', '.join(f'{n}={before[n]!r}' for n in changed)}")

    def _put_back(self, values: dict) -> None:
        """Set the controls to `values` without refreshing (one whose options no longer hold its value keeps
        the one it has)."""
        ready, self._ready = self._ready, False
        try:
            for name, value in values.items():
                with contextlib.suppress(TraitError):
                    self.controls[name].value = value
        finally:
            self._ready = ready

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
