"""Sliders for the parameters of each transform, shared by the widgets that pick a transform.

Each control has one meaning wherever it appears ("angle" is degrees, "a" a scale factor), and each
transform lists the controls it reads and how they become its parameter row (1, n_params). A transform
without an entry (a new one added to a registry) gets "param_seed": its parameters are a random draw
from sample_params with that seed, so every registered transform can be explored.
"""
from __future__ import annotations

import math

import ipywidgets as W
import torch

_STYLE = {"description_width": "initial"}


def _float(description, low, high, step, value):
    return lambda: W.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                                 continuous_update=True, style=_STYLE)


def _int(description, low, high, value):
    return lambda: W.IntSlider(value=value, min=low, max=high, description=description, style=_STYLE)


PARAM_CONTROLS = {
    "angle": _float("angle (degrees)", -180.0, 180.0, 1.0, 30.0),
    "k": _int("k (quarter turns)", 0, 3, 1),
    "flip": lambda: W.Checkbox(value=True, description="flip", indent=False),
    "a": _float("a (scale factor)", 0.25, 2.0, 0.01, 1.5),
    "dy": _int("dy (pixels down)", -8, 8, 2),
    "dx": _int("dx (pixels right)", -8, 8, 3),
    "size": _float("size (fraction of side)", 0.0, 1.0, 0.01, 0.4),
    "cy": _float("centre row (fraction)", 0.0, 1.0, 0.01, 0.5),
    "cx": _float("centre column (fraction)", 0.0, 1.0, 0.01, 0.5),
    "log2_scale": _float("log2 scale", -1.0, 1.0, 0.05, 0.3),
    "log2_aniso": _float("log2 stretch", -1.0, 1.0, 0.05, 0.0),
    "aniso_angle": _float("stretch axis (degrees)", -180.0, 180.0, 1.0, 0.0),
    "tx": _float("shift x (fraction of width)", -0.5, 0.5, 0.01, 0.0),
    "ty": _float("shift y (fraction of height)", -0.5, 0.5, 0.01, 0.0),
    "shift_x": _float("shift x", -1.5, 1.5, 0.05, 0.5),
    "shift_y": _float("shift y", -1.5, 1.5, 0.05, 0.0),
    "shear": _float("shear s", -1.5, 1.5, 0.05, 0.5),
    "strength": _float("tanh strength k", 0.0, 3.0, 0.05, 1.5),
    "curvature": _float("curvature a", -1.5, 1.5, 0.05, 0.8),
    "axis_angle": _float("mirror axis (degrees)", 0.0, 180.0, 1.0, 30.0),
    "param_seed": _int("parameter draw (seed)", 0, 99, 1),
}

_LN2 = math.log(2.0)
_rad = math.radians

# transform name -> (controls it reads, values -> parameter row)
PARAM_SPECS = {
    "images": {
        "brightness": (["a"], lambda v: [math.log(v["a"])]),
        "translate": (["dy", "dx"], lambda v: [v["dy"], v["dx"]]),
        "translate_circular": (["dy", "dx"], lambda v: [v["dy"], v["dx"]]),
        "cutout": (["size", "cy", "cx"], lambda v: [v["size"], v["cy"], v["cx"]]),
        "rot90": (["k"], lambda v: [v["k"]]),
        "xflip": (["flip"], lambda v: [float(bool(v["flip"]))]),
        "yflip": (["flip"], lambda v: [float(bool(v["flip"]))]),
        "rotate": (["angle"], lambda v: [_rad(v["angle"])]),
        "rotate_nearest": (["angle"], lambda v: [_rad(v["angle"])]),
        "geometric": (["log2_scale", "angle", "log2_aniso", "aniso_angle", "tx", "ty"],
                      lambda v: [v["log2_scale"] * _LN2, _rad(v["angle"]), v["log2_aniso"] * _LN2,
                                 _rad(v["aniso_angle"]), v["tx"], v["ty"]]),
    },
    "points": {
        "rotate": (["angle"], lambda v: [_rad(v["angle"])]),
        "rot90": (["k"], lambda v: [v["k"]]),
        "flip": (["flip"], lambda v: [float(bool(v["flip"]))]),
        "reflect": (["flip", "axis_angle"], lambda v: [float(bool(v["flip"])), _rad(v["axis_angle"])]),
        "scale": (["a"], lambda v: [math.log(v["a"])]),
        "translate": (["shift_x", "shift_y"], lambda v: [v["shift_x"], v["shift_y"]]),
        "shear": (["shear"], lambda v: [v["shear"]]),
        "tanh": (["strength"], lambda v: [v["strength"]]),
        "quadratic_shear": (["curvature"], lambda v: [v["curvature"]]),
    },
}
PARAM_SPECS["images"]["geometric_nearest"] = PARAM_SPECS["images"]["geometric"]


def control_names(kind: str, name: str) -> list[str]:
    """The parameter controls transform `name` of family `kind` reads."""
    spec = PARAM_SPECS.get(kind, {}).get(name)
    return list(spec[0]) if spec else ["param_seed"]


def make_param_controls(names) -> dict:
    """Fresh ipywidgets for the given control names."""
    unknown = [n for n in names if n not in PARAM_CONTROLS]
    if unknown:
        raise ValueError(f"unknown parameter control(s) {', '.join(unknown)}; known: {', '.join(PARAM_CONTROLS)}")
    return {n: PARAM_CONTROLS[n]() for n in names}


def all_control_names(kind: str) -> list[str]:
    """Every parameter control any transform of family `kind` reads (in a stable order), plus param_seed."""
    seen = []
    for names, _ in PARAM_SPECS[kind].values():
        seen += [n for n in names if n not in seen]
    return seen + ["param_seed"]


def params_from_values(kind: str, transform, values: dict) -> torch.Tensor:
    """The parameter row (1, n_params) float64 of `transform` from control values {name: value}; checked
    by the transform (a clear ValueError for values it does not accept)."""
    spec = PARAM_SPECS.get(kind, {}).get(transform.name)
    if spec is None:
        g = torch.Generator().manual_seed(int(values.get("param_seed", 0)))
        row = transform.sample_params(1, g).double()
    else:
        names, to_row = spec
        missing = [n for n in names if n not in values]
        if missing:
            raise ValueError(f"{transform.name}: no value for parameter control(s) {', '.join(missing)}")
        row = torch.tensor([to_row(values)], dtype=torch.float64)
    return transform.check_params(row, 1)
