"""The push-forward density and score of Y = f(X), derived with sympy, with numpy / torch twins (float64).

For an invertible map y = f(x) with inverse g = f^-1,

    log p_Y(y)      = log p_X(g(y)) - log|det J_f(g(y))|
    grad log p_Y(y) = J_g(y)^T s_X(g(y)) + grad_y log|det J_g(y)|        (the Jacobian formula)

The score is derived by differentiating the first line and then compared with the second line: sympy
reduces lhs - rhs to 0 where it can (proved), else the two are compared numerically at sample points (the
result's `check` says which). Where no closed-form inverse is found (e.g. the radial map r -> r + b r^3),
the inverse is numeric (Newton's method on f(x) = y) and the expressions are written in the preimage x.
"""
from __future__ import annotations

import textwrap
import tokenize
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
import torch

from .densities import _interval, _symbols, normalising_constant
from .inverse import (NEWTON, _determinant_sign, check_jacobian_nonvanishing, check_map_is_smooth,
                      check_one_preimage, find_inverse, newton_inverses)
from .numeric import _batched, _function, _rows_function, _sample_points, max_relative_error


@dataclass
class Pushforward:
    """Everything `derive_pushforward` derived. Expressions are in y (closed-form or given inverse) or,
    when the inverse is numeric, in the preimage x = f^-1(y) (`variables` says which). The numeric
    twins (score_numpy, score_torch, log_density_numpy, terms_numpy, inverse_torch_func) take points
    (B, d), or (B,) in 1-D, in y, float64 (forward_numpy and base_score_torch take points in x). `score`
    is simplified for display where that is safe; `transported` and `volume` are the two terms of the
    Jacobian formula."""

    map_exprs: list
    x_symbols: list
    y_symbols: list
    domain: dict                 # symbol -> (lo, hi)
    inverse_route: str           # 'closed form', 'given' or 'numeric (Newton)'
    inverse: list | None         # g(y), or None for the numeric route
    jacobian: sp.Matrix          # J_f(x)
    log_abs_det: sp.Expr         # log|det J_f(x)|
    base_logpdf: sp.Expr         # normalised log p_X(x)
    normaliser: float            # Z of the given base log-density (1 when it was normalised)
    variables: list              # the symbols the expressions below are written in
    log_density: sp.Expr         # log p_Y
    score: list                  # grad_y log p_Y, derived from log_density
    transported: list            # J_g(y)^T s_X(g(y))
    volume: list                 # grad_y log|det J_g(y)|
    check: str                   # 'symbolic' or 'numeric'
    check_error: float           # 0.0 when proved; else max relative error at the check points
    check_passed: bool
    check_note: str
    functions: dict = field(default_factory=dict, repr=False)

    def score_numpy(self, y):
        return self.functions["score_numpy"](y)

    def score_torch(self, y):
        return self.functions["score_torch"](y)

    def log_density_numpy(self, y):
        return self.functions["log_density_numpy"](y)

    def terms_numpy(self, y):
        """(transported, volume) at y, each (B, d)."""
        return self.functions["transported_numpy"](y), self.functions["volume_numpy"](y)

    def inverse_torch_func(self, y):
        """g(y) in torch operations that torch.func can differentiate (for a numeric inverse: a fixed
        number of damped Newton steps, not checked for convergence)."""
        return self.functions["inverse_torch_func"](y)

    def forward_numpy(self, x):
        return self.functions["forward_numpy"](x)

    def base_score_torch(self, x):
        return self.functions["base_score_torch"](x)

    def summary(self) -> str:
        at = "y" if self.variables == self.y_symbols else "x = f^-1(y) (numeric inverse)"
        lines = [f"map: {tuple(self.map_exprs)} in {tuple(self.x_symbols)}",
                 f"inverse [{self.inverse_route}]: {tuple(self.inverse) if self.inverse else 'Newton on f(x) = y'}",
                 f"log|det J_f| = {self.log_abs_det}",
                 f"log p_Y, written at {at}: {self.log_density}"]
        lines += [f"d/d{y} log p_Y = {s}" for y, s in zip(self.y_symbols, self.score)]
        lines.append(textwrap.fill(f"Jacobian-formula check: {self.check} ({self.check_note})", width=100,
                                   break_long_words=False, subsequent_indent="  "))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# --- input -------------------------------------------------------------------------------------------------


def _parse(value, symbols, what: str):
    """A sympy expression from an expression or a string (names resolve to the given symbols)."""
    if isinstance(value, str):
        try:
            return sp.parse_expr(value, local_dict={s.name: s for s in symbols})
        except (SyntaxError, TypeError, sp.SympifyError, tokenize.TokenError) as err:
            raise ValueError(f"could not parse the {what} {value!r}: {err}") from None
    return sp.sympify(value)


def parse_map(text: str, x_symbols) -> list:
    """'tanh(2*x)' -> [tanh(2*x)]; '(x1, x2 + x1**2/2)' -> [x1, x2 + x1**2/2]."""
    expr = _parse(text, _symbols(x_symbols), "map")
    return list(expr) if isinstance(expr, (tuple, list, sp.Tuple)) else [expr]


def _parse_inputs(map_exprs, base_logpdf, xs, ys, params) -> tuple:
    """(maps, base): the map as a list of expressions and the base log-density, with `params`
    substituted; a ValueError for a non-square Jacobian, a wrong number of y symbols, a dimension other
    than 1 or 2, or free symbols left without values."""
    maps = map_exprs if isinstance(map_exprs, (list, tuple)) else [map_exprs]
    maps = [_parse(m, xs, "map") for m in maps]
    if len(maps) == 1 and isinstance(maps[0], (tuple, sp.Tuple)):
        maps = list(maps[0])
    base = _parse(base_logpdf, xs, "base log-density")
    if len(maps) != len(xs):
        raise ValueError(f"the Jacobian of the map is {len(maps)}x{len(xs)}, not square: a push-forward "
                         "density needs a bijection between spaces of the same dimension")
    if len(ys) != len(xs):
        raise ValueError(f"{len(ys)} y symbols for a map of {len(xs)} coordinates")
    if len(xs) not in (1, 2):
        raise ValueError(f"symbolic push-forward is implemented for 1-D and 2-D maps, got {len(xs)}-D")
    if params:
        maps = [m.subs(params) for m in maps]
        base = base.subs(params)
    extra = set().union(*[m.free_symbols for m in maps], base.free_symbols) - set(xs)
    if extra:
        raise ValueError(f"free symbols {sorted(map(str, extra))} need values: pass params={{symbol: value}}")
    return maps, base


def _inverse(inverse, maps, xs, ys, yr, points) -> tuple:
    """(route, g in yr): 'numeric' asks for Newton; a given inverse (in ys) is parsed, then verified."""
    if isinstance(inverse, str) and inverse == "numeric":
        return NEWTON, None
    given = None
    if inverse is not None:
        exprs = inverse if isinstance(inverse, (list, tuple)) else [inverse]
        given = [_parse(e, ys, "inverse").xreplace(dict(zip(ys, yr))) for e in exprs]
    return find_inverse(maps, xs, yr, points, given)


# --- simplification --------------------------------------------------------------------------------------


def _simplify_is_safe(expr, limit: int = 150) -> bool:
    """sympy.simplify can run for minutes: on sums of several exponentials (mixtures) its polynomial
    gcds explode. Only small expressions with at most one exp are simplified."""
    return sp.count_ops(expr) <= limit and len(expr.atoms(sp.exp)) <= 1


def _maybe_simplify(expr, enabled: bool):
    """simplify for display where that is safe (see _simplify_is_safe); keeps the shorter form."""
    if not enabled or not _simplify_is_safe(expr):
        return expr
    simpler = sp.simplify(expr)
    return simpler if sp.count_ops(simpler) <= sp.count_ops(expr) else expr


def _reduce_to_zero(expr):
    """Try to show expr == 0: automatic evaluation, then the expanded numerator of together(expr) (no
    gcds, so it cannot blow up), then simplify where that is safe; returns what it reached."""
    if expr == 0:
        return expr
    numerator = sp.expand(sp.fraction(sp.together(expr))[0])
    if numerator == 0 or not _simplify_is_safe(expr):
        return numerator
    return sp.simplify(expr)


def _tidy(expr):
    return sp.expand_log(expr, force=False)


# --- the derivation --------------------------------------------------------------------------------------


def derive_pushforward(map_exprs, x_symbols, base_logpdf, y_symbols, *, domain=None, inverse=None,
                      params=None, simplify: bool = True, check_points: int = 200, seed: int = 0,
                      box=None) -> Pushforward:
    """Derive the density and score of Y = f(X) for a 1-D or 2-D map written in sympy.

    map_exprs: f as an expression (1-D) or a list of expressions (strings are parsed); x_symbols and
    y_symbols: the coordinates before and after the map; base_logpdf: log p_X in x (normalised here by
    quadrature if it is not). domain: {x_symbol: (lo, hi) or sympy Interval}; by default from the
    symbols' assumptions (positive=True -> (0, oo)), else the real line. inverse: None (derive), a list
    of expressions in y (verified), or 'numeric' (Newton). params: {symbol: value} substituted first.
    Raises ValueError (one sentence) for a non-square Jacobian, a map that is not invertible on its
    domain, a map whose derivative vanishes inside its domain (x**3 on the real line: restrict it to
    x > 0), a base density that is not normalisable there, and any other failure of sympy's."""
    try:
        return _derive(map_exprs, x_symbols, base_logpdf, y_symbols, domain=domain, inverse=inverse,
                       params=params, simplify=simplify, check_points=check_points, seed=seed, box=box)
    except ValueError:
        raise
    except Exception as err:  # noqa: BLE001 - sympy and its printers raise many kinds; the student gets one
        first = (str(err).strip().splitlines() or [""])[0]
        raise ValueError(f"sympy could not derive this push-forward ({type(err).__name__}: {first}); try a "
                         "simpler form of the map, a narrower domain, or inverse='numeric'") from err


def _check_smooth(named_exprs) -> None:
    """A ValueError where a derived expression contains DiracDelta: sympy differentiated sign, Abs or
    Heaviside across the point where they jump, so the result would be wrong (or unprintable) there."""
    for what, exprs in named_exprs:
        for e in exprs:
            if e.has(sp.DiracDelta):
                kinks = ", ".join(sorted({str(a.func) for a in e.atoms(sp.sign, sp.Abs, sp.Heaviside)})) or "a jump"
                raise ValueError(f"the derived {what} contains DiracDelta (sympy differentiated {kinks} at a jump "
                                 "or a kink), so the map or its inverse is not smooth with a finite, non-zero "
                                 "Jacobian everywhere on the domain; restrict the domain to where it is (for "
                                 "example domain={x: (0, oo)} or a positive symbol)")


def _derive(map_exprs, x_symbols, base_logpdf, y_symbols, *, domain, inverse, params, simplify, check_points,
            seed, box) -> Pushforward:
    """derive_pushforward's derivation; derive_pushforward turns sympy's own exceptions into ValueErrors."""
    xs, ys = _symbols(x_symbols), _symbols(y_symbols)
    maps, base = _parse_inputs(map_exprs, base_logpdf, xs, ys, params)
    # internal real y symbols (sqrt/log simplify better); the user's symbols are put back at the end
    yr = [sp.Dummy(s.name, real=True) for s in ys]
    back_to_user = dict(zip(yr, ys))

    intervals = [_interval(s, domain) for s in xs]
    z = normalising_constant(base, xs, domain)
    normalised = base if abs(z - 1) < 1e-6 else base - sp.log(sp.Float(z))
    points = _sample_points(intervals, check_points, seed, box)                   # (n, d) preimages

    jac = sp.Matrix(maps).jacobian(xs)
    det = sp.simplify(jac.det())
    if det == 0:
        raise ValueError("the map is not invertible: det J_f vanishes identically")
    check_map_is_smooth(det, xs, intervals)
    sign = _determinant_sign(det, xs, intervals, points)
    check_jacobian_nonvanishing(det, xs, intervals, points)
    log_abs_det = sp.expand_log(sp.log(sign * det), force=False)
    base_score = [sp.diff(normalised, v) for v in xs]
    route, g = _inverse(inverse, maps, xs, ys, yr, points)

    functions = {"forward_numpy": _function(maps, xs, "numpy"),
                 "base_score_torch": _function(base_score, xs, "torch")}
    y_points = functions["forward_numpy"](points)                                  # (n, d)
    if g is not None:
        result = _symbolic_route(xs, yr, g, normalised, log_abs_det, sign, base_score, simplify,
                                 y_points, functions)
    else:
        result = _numeric_route(maps, xs, jac, normalised, log_abs_det, base_score, intervals, simplify,
                                points, y_points, functions)
    log_density, score, transported, volume, check = result

    def user(e):
        return e.xreplace(back_to_user)

    return Pushforward(
        map_exprs=maps, x_symbols=xs, y_symbols=ys, domain=dict(zip(xs, intervals)), inverse_route=route,
        inverse=None if g is None else [user(e) for e in g], jacobian=jac, log_abs_det=log_abs_det,
        base_logpdf=normalised, normaliser=z, variables=ys if g is not None else xs,
        log_density=user(log_density), score=[user(e) for e in score],
        transported=[user(e) for e in transported], volume=[user(e) for e in volume], check=check[0],
        check_error=check[1], check_passed=bool(check[2]), check_note=check[3], functions=functions)


def _symbolic_route(xs, yr, g, base, log_abs_det, sign, base_score, simplify, y_points, functions):
    """A closed-form inverse g: expressions in y, the Jacobian formula proved (or checked at y_points)."""
    at_g = dict(zip(xs, g))
    # lhs: differentiate log p_Y(y) = log p_X(g(y)) - log|det J_f(g(y))| (the forward Jacobian)
    log_density = base.xreplace(at_g) - log_abs_det.xreplace(at_g)
    score = [sp.diff(log_density, y) for y in yr]
    # rhs: the Jacobian formula with J_g = dg/dy
    jac_g = sp.Matrix(g).jacobian(yr)
    transported = list(jac_g.T * sp.Matrix([s.xreplace(at_g) for s in base_score]))
    log_det_g = sp.log(sign * jac_g.det())  # det J_g = 1 / det J_f: same sign
    volume = [sp.diff(log_det_g, y) for y in yr]
    _check_smooth([("score", score), ("transported term", transported), ("volume term", volume)])
    differences = [_reduce_to_zero(s - (t + v)) for s, t, v in zip(score, transported, volume)]
    functions.update(score_numpy=_function(score, yr, "numpy"), score_torch=_function(score, yr, "torch"),
                     transported_numpy=_function(transported, yr, "numpy"),
                     volume_numpy=_function(volume, yr, "numpy"),
                     log_density_numpy=_function([log_density], yr, "numpy", vector_out=False),
                     inverse_torch_func=_function(g, yr, "torch"))
    if all(e == 0 for e in differences):
        check = ("symbolic", 0.0, True, "sympy reduces lhs - rhs to 0 in every coordinate")
    else:
        lhs = functions["score_numpy"](y_points)
        rhs = functions["transported_numpy"](y_points) + functions["volume_numpy"](y_points)
        err = max_relative_error(lhs, rhs)
        check = ("numeric", err, err <= 1e-9, f"sympy could not reduce lhs - rhs to 0; max relative error "
                 f"{err:.2e} at {len(y_points)} points")
    display = [_maybe_simplify(_tidy(s), simplify) for s in score]
    return _maybe_simplify(_tidy(log_density), simplify), display, transported, volume, check


def _numeric_route(maps, xs, jac, base, log_abs_det, base_score, intervals, simplify, points, y_points,
                   functions):
    """No closed-form inverse: expressions in the preimage x; g(y) by Newton's method."""
    d = len(xs)
    jac_inv_t = jac.inv().T                                                       # J_g^T at x = J_f^-T
    log_density = base - log_abs_det
    score = list(jac_inv_t * sp.Matrix([sp.diff(log_density, v) for v in xs]))
    transported = list(jac_inv_t * sp.Matrix(base_score))
    volume = list(jac_inv_t * sp.Matrix([sp.diff(-log_abs_det, v) for v in xs]))
    _check_smooth([("score", score), ("transported term", transported), ("volume term", volume)])
    for_autograd, inverse_torch = newton_inverses(maps, xs, jac, intervals)

    def inverse_numpy(y):
        return inverse_torch(torch.from_numpy(np.asarray(y, dtype=np.float64))).numpy()

    functions["inverse_torch_func"] = _batched(for_autograd, d, "torch")
    preimage = {"numpy": inverse_numpy, "torch": inverse_torch}
    for name, exprs, backend in (("score", score, "numpy"), ("score", score, "torch"),
                                 ("transported", transported, "numpy"), ("volume", volume, "numpy"),
                                 ("log_density", [log_density], "numpy")):
        at_x = _rows_function(exprs, xs, backend)                                 # evaluated at x = g(y)
        functions[f"{name}_{backend}"] = _batched(lambda y, f=at_x, i=preimage[backend]: f(i(y)), d, backend,
                                                  vector_out=name != "log_density")
    check_one_preimage(inverse_numpy, points, y_points)
    check = _finite_difference_check(functions["log_density_numpy"], functions["score_numpy"], y_points)
    display = [_maybe_simplify(s, simplify) for s in score]
    return _maybe_simplify(log_density, simplify), display, transported, volume, check


def _finite_difference_check(log_density, score, y_points) -> tuple:
    """The score against central finite differences of log p_Y(y) (step 1e-5 (1 + |y_i|)), as a check."""
    fd = np.zeros_like(y_points)
    for i in range(y_points.shape[1]):
        h = 1e-5 * (1 + np.abs(y_points[:, i]))
        step = np.zeros_like(y_points)
        step[:, i] = h
        fd[:, i] = (log_density(y_points + step) - log_density(y_points - step)) / (2 * h)
    err = max_relative_error(score(y_points), fd)
    return ("numeric", err, err <= 1e-6, f"no closed-form inverse: score vs central finite differences of "
            f"log p_Y (Newton inverse), max relative error {err:.2e} at {len(y_points)} points")


def autograd_agreement(result: Pushforward, n: int = 200, seed: int = 1, box=None) -> float:
    """Max relative error between the sympy score and scoreaug_lab.scores.pushforward_score (torch.func
    jacrev/vmap through the result's torch inverse and base score) at n points f(x), x in the domain."""
    from ..scores import pushforward_score as torch_pushforward

    points = _sample_points(list(result.domain.values()), n, seed, box)
    y = torch.from_numpy(result.forward_numpy(points))
    autograd = torch_pushforward(result.base_score_torch, result.inverse_torch_func)(y)
    return max_relative_error(result.score_torch(y).numpy(), autograd.numpy())
