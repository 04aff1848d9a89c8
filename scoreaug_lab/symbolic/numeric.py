"""Sympy expressions as numeric functions of batches of points (B, d), float64 numpy or torch, and the
points where derivations are checked."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
import torch


def _numeric_constants(expr):
    """Collapse every symbol-free subexpression (sqrt(2), log(3), pi, ...) to a Float: torch functions
    do not take Python numbers."""
    return sp.sympify(expr).replace(lambda e: e.is_number and not e.is_Number and e.is_real is not False,
                                    lambda e: sp.Float(e.evalf(17), 17))


def _rows_function(exprs, symbols, backend: str):
    """A function of points (B, d) -> (B, len(exprs)) for `exprs` in `symbols` (constants broadcast)."""
    fn = sp.lambdify(symbols, [_numeric_constants(e) for e in exprs], modules=backend, cse=True)

    if backend == "torch":
        def rows(points):
            cols = [points[:, i] for i in range(points.shape[1])]
            vals = fn(*cols)
            zero = cols[0] * 0  # broadcast constants under torch.func as well
            return torch.stack([zero + v for v in vals], dim=1)
    else:
        def rows(points):
            points = np.asarray(points)
            with np.errstate(all="ignore"):
                vals = fn(*[points[:, i] for i in range(points.shape[1])])
            return np.stack([np.broadcast_to(np.asarray(v, dtype=points.dtype), points.shape[:1]) for v in vals], 1)
    return rows


def _batched(fn, d: int, backend: str, vector_out: bool = True):
    """Accept (B, d) or, in 1-D, (B,); return (B, k) / (B,) accordingly, in float64."""
    def call(points):
        if backend == "torch":
            points = torch.as_tensor(points, dtype=torch.float64)
        else:
            points = np.asarray(points, dtype=np.float64)
        flat = points.ndim == 1 and d == 1
        pts = points[:, None] if flat else points
        if pts.ndim != 2 or pts.shape[1] != d:
            raise ValueError(f"expected points of shape (B, {d}){' or (B,)' if d == 1 else ''}, "
                             f"got {tuple(points.shape)}")
        out = fn(pts)
        if not vector_out:
            return out[:, 0]
        return out[:, 0] if flat else out
    return call


def _function(exprs, symbols, backend: str, vector_out: bool = True):
    """_rows_function, batched: points (B, d) or (B,) in 1-D -> values, float64."""
    return _batched(_rows_function(exprs, symbols, backend), len(symbols), backend, vector_out)


def max_relative_error(a, b) -> float:
    """max |a - b| / max(1, |b|): absolute where values are O(1), relative where they are large."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)))) if a.size else 0.0


def _check_box(lo: float, hi: float, width: float = 3.0) -> tuple:
    """A bounded box inside (lo, hi) where check points are drawn."""
    if math.isinf(lo) and math.isinf(hi):
        return -width, width
    if math.isinf(hi):
        return lo + 0.05, lo + width
    if math.isinf(lo):
        return hi - width, hi - 0.05
    pad = 0.05 * (hi - lo)
    return lo + pad, hi - pad


def _sample_points(intervals, n: int, seed: int, box=None) -> np.ndarray:
    """n uniform points (n, d) in the check boxes of the intervals (or in `box`: one (lo, hi) per axis)."""
    rng = np.random.default_rng(seed)
    boxes = box or [_check_box(lo, hi) for lo, hi in intervals]
    return np.stack([rng.uniform(lo, hi, n) for lo, hi in boxes], axis=1)  # (n, d)
