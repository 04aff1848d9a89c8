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
        """Register a control; any change of its value triggers `refresh`."""
        self.controls[name] = control
        control.observe(self._on_change, names="value")
        return control

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
