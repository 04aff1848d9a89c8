"""Base log-densities as sympy expressions, the domain of each coordinate, and the normalising constant
of a density by Gauss-Legendre quadrature."""
from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp


def _symbols(x_symbols) -> list:
    """A list of sympy symbols from one symbol, a list, or names (strings become real symbols)."""
    items = list(x_symbols) if isinstance(x_symbols, (list, tuple)) else [x_symbols]
    return [sp.Symbol(v, real=True) if isinstance(v, str) else v for v in items]


def _gaussian_log(v, mean, std):
    return -(v - mean) ** 2 / (2 * std**2) - sp.log(std * sp.sqrt(2 * sp.pi))


def gaussian_logpdf(x_symbols, mean=0, std=1):
    """log N(x; mean, diag(std^2)) as a sympy expression (scalars broadcast over the coordinates)."""
    xs = _symbols(x_symbols)
    means = list(mean) if isinstance(mean, (list, tuple)) else [mean] * len(xs)
    stds = list(std) if isinstance(std, (list, tuple)) else [std] * len(xs)
    return sp.Add(*[_gaussian_log(v, sp.sympify(m), sp.sympify(s)) for v, m, s in zip(xs, means, stds)])


def gaussian_mixture_logpdf(x_symbols, means, stds, weights=None):
    """log sum_k w_k N(x; mu_k, s_k^2 I); means: K points (each d numbers, or numbers in 1-D)."""
    xs = _symbols(x_symbols)
    means = [list(m) if isinstance(m, (list, tuple)) else [m] for m in means]
    stds = list(stds) if isinstance(stds, (list, tuple)) else [stds] * len(means)
    weights = [sp.Integer(1)] * len(means) if weights is None else [sp.sympify(w) for w in weights]
    total = sp.Add(*weights)
    terms = [w / total * sp.exp(gaussian_logpdf(xs, m, s)) for w, m, s in zip(weights, means, stds)]
    return sp.log(sp.Add(*terms))


def logistic_logpdf(x_symbols, loc=0, scale=1):
    """Independent logistic coordinates: p(x) = 1 / (4 s cosh^2((x - m) / (2 s))) (a stable form)."""
    xs = _symbols(x_symbols)
    loc, scale = sp.sympify(loc), sp.sympify(scale)
    return sp.Add(*[-sp.log(4 * scale) - 2 * sp.log(sp.cosh((v - loc) / (2 * scale))) for v in xs])


def _interval(symbol, domain) -> tuple:
    """(lo, hi) as floats for one coordinate: from `domain` if given (keyed by the symbol or by its name,
    as a notebook's {"x": (0, "oo")}), else from the symbol's assumptions."""
    key = symbol if domain is not None and symbol in domain else symbol.name
    if domain is not None and key in domain:
        spec = domain[key]
        lo, hi = (spec.inf, spec.sup) if isinstance(spec, sp.Interval) else spec
    elif symbol.is_positive or symbol.is_nonnegative:
        lo, hi = 0, sp.oo
    else:
        lo, hi = -sp.oo, sp.oo
    lo, hi = float(sp.sympify(lo)), float(sp.sympify(hi))
    if not lo < hi:
        raise ValueError(f"the domain of {symbol} is empty: ({lo}, {hi})")
    return lo, hi


# nodes and weights on (-1, 1); cached: each derivation normalises its base density at two resolutions
_leggauss = functools.lru_cache(maxsize=8)(np.polynomial.legendre.leggauss)


def _quadrature_rule(lo: float, hi: float, n: int):
    """Gauss-Legendre nodes and weights for the integral over (lo, hi); an infinite end is reached by a
    change of variables from u in (-1, 1) (x = u / (1 - u^2), lo + (1 + u) / (1 - u), ...)."""
    u, w = _leggauss(n)
    if math.isinf(lo) and math.isinf(hi):
        return u / (1 - u**2), w * (1 + u**2) / (1 - u**2) ** 2
    if math.isinf(hi):
        return lo + (1 + u) / (1 - u), w * 2 / (1 - u) ** 2
    if math.isinf(lo):
        return hi - (1 - u) / (1 + u), w * 2 / (1 + u) ** 2
    return lo + (hi - lo) * (u + 1) / 2, w * (hi - lo) / 2


def _integral(logf, intervals, n: int) -> float:
    """The integral of exp(logf) over a box, n nodes per axis (a tensor-product rule)."""
    grids = [_quadrature_rule(lo, hi, n) for lo, hi in intervals]
    points = np.meshgrid(*[g[0] for g in grids], indexing="ij")
    weight = np.ones_like(points[0])
    for axis, (_, w) in enumerate(grids):
        weight = weight * np.expand_dims(w, [a for a in range(len(intervals)) if a != axis])
    with np.errstate(all="ignore"):
        dens = np.exp(np.broadcast_to(np.asarray(logf(*points), dtype=np.float64), weight.shape))
        return float(np.sum(dens * weight))


def normalising_constant(logpdf, x_symbols, domain=None, nodes: tuple = (300, 600)) -> float:
    """Z = integral of exp(logpdf) over the domain, by Gauss-Legendre quadrature (infinite ends mapped
    to a finite interval) at two resolutions. A ValueError names a density that is not normalisable:
    an infinite or NaN integral, or one that keeps changing with the resolution (divergent tails)."""
    xs = _symbols(x_symbols)
    if len(xs) > 2:
        raise ValueError("normalisation is implemented for 1-D and 2-D densities")
    logf = sp.lambdify(xs, logpdf, modules="numpy")
    intervals = [_interval(s, domain) for s in xs]
    coarse, fine = [_integral(logf, intervals, n if len(xs) == 1 else n // 2) for n in nodes]
    where = ", ".join(f"{s} in ({lo:g}, {hi:g})" for s, (lo, hi) in zip(xs, intervals))
    if not (math.isfinite(fine) and math.isfinite(coarse)):
        raise ValueError(f"the base density is not normalisable on {where}: the integral of exp(logpdf) "
                         "is infinite or undefined")
    if fine <= 0:
        raise ValueError(f"the base density is not normalisable on {where}: exp(logpdf) integrates to 0")
    if abs(coarse - fine) > 1e-6 * fine:
        raise ValueError(f"the base density is not normalisable on {where}: the integral of exp(logpdf) "
                         f"does not converge ({coarse:.6g} vs {fine:.6g} at two quadrature resolutions; "
                         "the tails decay too slowly)")
    return fine
