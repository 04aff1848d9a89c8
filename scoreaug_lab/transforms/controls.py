"""What a transform's widget controls need: each parameter as a person reads it (degrees, a scale factor,
pixels), its range and step, and how the controls become the transform's parameter row.

Every transform declares `controls` (a tuple of `ParamControl`) and implements `_controls_to_row(values)`
(control values -> its parameter row) and `_amount_to_row(amount)` (a strength in [-1, 1] of its sampling
range -> a parameter row). `Transform.params_from_controls`, `params_at` and `describe` build on them, so a
widget needs no table keyed by transform name, and a new transform without them fails a test, not silently.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParamControl:
    """One slider (or checkbox) of a transform, in display units."""

    name: str            # key in the values dict, e.g. "angle"
    label: str           # shown beside the control, e.g. "angle (degrees)"
    low: float
    high: float
    step: float
    default: float
    kind: str = "float"  # "float", "int" or "bool"
    symbol: str = ""     # short name for titles, e.g. "θ" (defaults to name)
    unit: str = ""       # appended in titles, e.g. "°"

    def text(self, value) -> str:
        """'θ = 30°', 'a = 1.5', 'flip = on' for a title."""
        if self.kind == "bool":
            shown = "on" if value else "off"
        elif self.kind == "int":
            shown = f"{int(value)}"
        else:
            shown = f"{float(value):.3g}"
        return f"{self.symbol or self.name} = {shown}{self.unit}"

    def check(self, value):
        """The value, or a ValueError naming the control when it is not a finite number in range."""
        import math
        if value is None or (self.kind != "bool" and not (isinstance(value, (int, float)) and math.isfinite(value))):
            raise ValueError(f"{self.label}: expected a finite number, got {value!r}")
        if self.kind != "bool" and not self.low <= value <= self.high:
            raise ValueError(f"{self.label}: {value} lies outside [{self.low}, {self.high}]")
        return value


# Controls shared by several transforms (one meaning wherever they appear).
ANGLE = ParamControl("angle", "angle (degrees)", -180.0, 180.0, 1.0, 30.0, symbol="θ", unit="°")
QUARTER_TURNS = ParamControl("k", "k (quarter turns)", 0, 3, 1, 1, kind="int")
FLIP = ParamControl("flip", "flip", 0, 1, 1, 1, kind="bool")
SCALE = ParamControl("a", "a (scale factor)", 0.25, 2.0, 0.01, 1.5, symbol="a")
SHIFT_DOWN = ParamControl("dy", "dy (pixels down)", -8, 8, 1, 2, kind="int", unit=" px")
SHIFT_RIGHT = ParamControl("dx", "dx (pixels right)", -8, 8, 1, 3, kind="int", unit=" px")
CUT_SIZE = ParamControl("size", "size (fraction of side)", 0.0, 1.0, 0.01, 0.4)
CUT_ROW = ParamControl("cy", "centre row (fraction)", 0.0, 1.0, 0.01, 0.5)
CUT_COL = ParamControl("cx", "centre column (fraction)", 0.0, 1.0, 0.01, 0.5)
LOG2_SCALE = ParamControl("log2_scale", "log2 scale", -1.0, 1.0, 0.05, 0.3, symbol="log2 s")
LOG2_ANISO = ParamControl("log2_aniso", "log2 stretch", -1.0, 1.0, 0.05, 0.0, symbol="log2 r")
ANISO_ANGLE = ParamControl("aniso_angle", "stretch axis (degrees)", -180.0, 180.0, 1.0, 0.0, symbol="φ", unit="°")
SHIFT_X_FRACTION = ParamControl("tx", "shift x (fraction of width)", -0.5, 0.5, 0.01, 0.0)
SHIFT_Y_FRACTION = ParamControl("ty", "shift y (fraction of height)", -0.5, 0.5, 0.01, 0.0)
SHIFT_X = ParamControl("shift_x", "shift x", -1.5, 1.5, 0.05, 0.5, symbol="t1")
SHIFT_Y = ParamControl("shift_y", "shift y", -1.5, 1.5, 0.05, 0.0, symbol="t2")
SHEAR = ParamControl("shear", "shear s", -1.5, 1.5, 0.05, 0.5, symbol="s")
STRENGTH = ParamControl("strength", "tanh strength k", 0.0, 3.0, 0.05, 1.5, symbol="k")
CURVATURE = ParamControl("curvature", "curvature a", -1.5, 1.5, 0.05, 0.8, symbol="a")
AXIS_ANGLE = ParamControl("axis_angle", "mirror axis (degrees)", 0.0, 180.0, 1.0, 30.0, symbol="φ", unit="°")


class FlipBitControls:
    """Controls of a mirror applied where a bit b = 1 (points: flip; images: xflip, yflip)."""

    controls = (FLIP,)

    def _controls_to_row(self, v):
        return [float(bool(v["flip"]))]

    def _amount_to_row(self, amount):
        return [float(abs(amount) >= 0.5)]


class QuarterTurnControls:
    """Controls of a rotation by k quarter turns (points and images: rot90)."""

    controls = (QUARTER_TURNS,)

    def _controls_to_row(self, v):
        return [float(v["k"])]

    def _amount_to_row(self, amount):
        return [float(round(3 * abs(amount)))]


class LogScaleControls:
    """Controls of x -> a x with ln a in [-max_log, max_log] (points: scale; images: brightness)."""

    controls = (SCALE,)

    def _controls_to_row(self, v):
        import math
        return [math.log(v["a"])]

    def _amount_to_row(self, amount):
        return [amount * self.max_log]


def check_amount(amount: float) -> float:
    amount = float(amount)
    if not -1.0 <= amount <= 1.0:
        raise ValueError(f"amount must lie in [-1, 1], got {amount}")
    return amount


__all__ = ["ParamControl", "check_amount", "FlipBitControls", "QuarterTurnControls", "LogScaleControls"]
