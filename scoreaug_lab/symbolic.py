"""Sympy derivations behind the toolkit, each with lambdified (numpy / torch, float64) twins.

1. Push-forward scores (`pushforward_score`). For an invertible map y = f(x) with inverse g = f^-1,

       log p_Y(y)      = log p_X(g(y)) - log|det J_f(g(y))|
       grad log p_Y(y) = J_g(y)^T s_X(g(y)) + grad_y log|det J_g(y)|        (the Jacobian formula)

   The score is derived by differentiating the first line and then compared with the second line:
   sympy reduces lhs - rhs to 0 where it can (proved), else the two are compared numerically at sample
   points (the result's `check` says which). The inverse comes from the structure of the map
   (tanh -> atanh, x**p -> y**(1/p), a triangular 2-D map solved one equation at a time), else
   sympy.solve (1-D maps, linear maps, and triangular 2-D maps one equation at a time), with the branch chosen by round-tripping points of the domain.
   Where no closed form is found (e.g. the radial map r -> r + b r^3), the inverse is numeric:
   Newton's method on f(x) = y, and the score is written in terms of the preimage x.
2. EDM preconditioning identities proved symbolically (`edm_identities`); `edm_numeric_check` compares the
   coefficients with scoreaug_lab.diffusion.
3. Noise covariance T T^T of image transforms written as explicit matrices on a small grid
   (`noise_covariance_table`).
"""
from __future__ import annotations

import functools
import math
import tokenize
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
import torch

# ======================================================================================================
# Base log-densities
# ======================================================================================================


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


# ======================================================================================================
# Small numeric helpers: expressions evaluated on (B, d) arrays / tensors
# ======================================================================================================


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


def max_relative_error(a, b) -> float:
    """max |a - b| / max(1, |b|): absolute where values are O(1), relative where they are large."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)))) if a.size else 0.0


# ======================================================================================================
# Domains, normalisation, invertibility
# ======================================================================================================


def _interval(symbol, domain) -> tuple:
    """(lo, hi) as floats for one coordinate: from `domain` if given, else from the symbol's assumptions."""
    if domain is not None and symbol in domain:
        spec = domain[symbol]
        lo, hi = (spec.inf, spec.sup) if isinstance(spec, sp.Interval) else spec
    elif symbol.is_positive or symbol.is_nonnegative:
        lo, hi = 0, sp.oo
    else:
        lo, hi = -sp.oo, sp.oo
    lo, hi = float(sp.sympify(lo)), float(sp.sympify(hi))
    if not lo < hi:
        raise ValueError(f"the domain of {symbol} is empty: ({lo}, {hi})")
    return lo, hi


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


@functools.lru_cache(maxsize=8)
def _legendre(n: int):
    """Gauss-Legendre nodes and weights on (-1, 1) by Newton's method on P_n (no eigenvalue solver:
    numpy's leggauss can take seconds on a busy machine)."""
    u = np.cos(np.pi * (np.arange(1, n + 1) - 0.25) / (n + 0.5))
    for _ in range(100):
        p0, p1 = np.ones_like(u), u
        for k in range(2, n + 1):                       # three-term recurrence for P_n(u)
            p0, p1 = p1, ((2 * k - 1) * u * p1 - (k - 1) * p0) / k
        dp = n * (u * p1 - p0) / (u**2 - 1)             # P_n'(u)
        step = p1 / dp
        u = u - step
        if np.max(np.abs(step)) < 1e-15:
            break
    return u[::-1], (2 / ((1 - u**2) * dp**2))[::-1]


def _gauss_legendre(lo: float, hi: float, n: int):
    """Nodes and weights for the integral over (lo, hi), infinite ends mapped from (-1, 1)."""
    u, w = _legendre(n)
    if math.isinf(lo) and math.isinf(hi):
        return u / (1 - u**2), w * (1 + u**2) / (1 - u**2) ** 2
    if math.isinf(hi):
        return lo + (1 + u) / (1 - u), w * 2 / (1 - u) ** 2
    if math.isinf(lo):
        return hi - (1 - u) / (1 + u), w * 2 / (1 + u) ** 2
    return lo + (hi - lo) * (u + 1) / 2, w * (hi - lo) / 2


def normalising_constant(logpdf, x_symbols, domain=None, nodes: tuple = (300, 600)) -> float:
    """Z = integral of exp(logpdf) over the domain, by Gauss-Legendre quadrature (infinite ends mapped
    to a finite interval) at two resolutions. A ValueError names a density that is not normalisable:
    an infinite or NaN integral, or one that keeps changing with the resolution (divergent tails)."""
    xs = _symbols(x_symbols)
    if len(xs) > 2:
        raise ValueError("normalisation is implemented for 1-D and 2-D densities")
    logf = sp.lambdify(xs, logpdf, modules="numpy")
    intervals = [_interval(s, domain) for s in xs]
    values = []
    for n in nodes:
        n = n if len(xs) == 1 else n // 2
        grids = [_gauss_legendre(lo, hi, n) for lo, hi in intervals]
        points = np.meshgrid(*[g[0] for g in grids], indexing="ij")
        weight = np.ones_like(points[0])
        for axis, (_, w) in enumerate(grids):
            weight = weight * np.expand_dims(w, [a for a in range(len(xs)) if a != axis])
        with np.errstate(all="ignore"):
            dens = np.exp(np.broadcast_to(np.asarray(logf(*points), dtype=np.float64), weight.shape))
            values.append(float(np.sum(dens * weight)))
    where = ", ".join(f"{s} in ({lo:g}, {hi:g})" for s, (lo, hi) in zip(xs, intervals))
    coarse, fine = values
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


def _sample_points(intervals, n: int, seed: int, box=None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    boxes = box or [_check_box(lo, hi) for lo, hi in intervals]
    return np.stack([rng.uniform(lo, hi, n) for lo, hi in boxes], axis=1)  # (n, d)


def _determinant_sign(det_expr, xs, intervals, points) -> int:
    """+1 or -1 when det J_f keeps one sign on the domain (checked at the points, and on a dense grid in
    1-D); a ValueError where it changes sign (the map folds over: not invertible there)."""
    det_rows = _rows_function([det_expr], xs, "numpy")
    pts = points
    if len(xs) == 1:
        lo, hi = _check_box(*intervals[0], width=8.0)
        pts = np.concatenate([points, np.linspace(lo, hi, 4001)[:, None]])
    vals = det_rows(pts)[:, 0]
    vals = vals[np.isfinite(vals) & (vals != 0)]
    if vals.size == 0:
        raise ValueError("the map is not invertible on its stated domain: det J_f is 0 (or undefined) at "
                         "every check point")
    if (vals > 0).any() and (vals < 0).any():
        where = ", ".join(str(s) for s in xs)
        raise ValueError(f"the map is not invertible on its stated domain: det J_f changes sign in ({where}), "
                         "so the map folds over and two points share an image")
    return 1 if vals[0] > 0 else -1


# ======================================================================================================
# Inverting a map
# ======================================================================================================


def _odd_root(t, n):
    """The real n-th root for odd n (sympy's t**(1/n) is the principal, complex root for t < 0)."""
    return sp.sign(t) * sp.Abs(t) ** (sp.Integer(1) / n)


def _invert_structural(expr, x, target):
    """Solve expr(x) = target by peeling off the outermost invertible operation; None if that fails.
    Branches are not checked here (the caller round-trips points of the domain)."""
    if expr == x:
        return target
    if not expr.has(x):
        return None
    if expr.is_Add:
        dep = [a for a in expr.args if a.has(x)]
        if len(dep) != 1:
            return None
        return _invert_structural(dep[0], x, target - (expr - dep[0]))
    if expr.is_Mul:
        dep = [a for a in expr.args if a.has(x)]
        if len(dep) != 1:
            return None
        return _invert_structural(dep[0], x, target / (expr / dep[0]))
    if expr.is_Pow:
        base, power = expr.args
        if base.has(x) and not power.has(x):
            if power.is_Integer and power % 2 == 1 and abs(power) > 1:
                return _invert_structural(base, x, _odd_root(target, power) if power > 0
                                          else 1 / _odd_root(target, -power))
            return _invert_structural(base, x, target ** (1 / power))
        if power.has(x) and not base.has(x):
            return _invert_structural(power, x, sp.log(target) / sp.log(base))
        return None
    if isinstance(expr, sp.Function) and len(expr.args) == 1:
        try:
            inverse = expr.inverse()
        except (AttributeError, NotImplementedError, TypeError):
            return None
        return _invert_structural(expr.args[0], x, inverse(target))
    return None


def _solve_one(expr, x, target, use_solve: bool) -> list:
    """Candidate solutions of expr(x) = target: the structural inverse, or (use_solve) sympy.solve's."""
    if not use_solve:
        structural = _invert_structural(expr, x, target)
        return [] if structural is None else [structural]
    try:
        solved = sp.solve(sp.Eq(expr, target), x)
    except (NotImplementedError, ValueError):
        solved = []
    return [s for s in solved if not s.has(sp.RootOf, sp.CRootOf)]


def _candidate_inverses(maps, xs, ys, use_solve: bool = False) -> list:
    """Candidate inverses [g_1, ..., g_d] in y: triangular maps are solved one equation (one unknown) at a
    time (structurally, or with sympy.solve when use_solve); linear and affine maps by sympy.solve.
    Non-triangular non-linear 2-D systems give none (sympy's solve can run for minutes on them, e.g. the
    radial map): the caller then uses Newton's method."""
    partial = [{}]
    remaining = list(range(len(maps)))
    unknown = list(xs)
    while remaining:
        step = None
        for i in remaining:
            free = [v for v in unknown if maps[i].has(v)]
            if len(free) == 1:
                step = (i, free[0])
                break
        if step is None:
            break
        i, v = step
        new = []
        for sol in partial:
            expr = maps[i].xreplace(sol)
            new += [{**sol, v: c} for c in _solve_one(expr, v, ys[i], use_solve)]
        partial = new
        remaining.remove(i)
        unknown.remove(v)
    if not remaining:
        return [[sol[v] for v in xs] for sol in partial]
    if use_solve and all(m.is_polynomial(*xs) and sp.Poly(m, *xs).total_degree() <= 1 for m in maps):
        solved = sp.solve([sp.Eq(m, y) for m, y in zip(maps, ys)], xs, dict=True)
        return [[sol[v] for v in xs] for sol in solved if all(v in sol for v in xs)]
    return []


def _round_trips(inverse, xs, ys, maps, points) -> bool:
    """True when g(f(x)) = x (real) at every check point, evaluated in complex arithmetic."""
    forward = _rows_function(maps, xs, "numpy")
    back = _rows_function(inverse, ys, "numpy")
    with np.errstate(all="ignore"):
        y = forward(points.astype(np.complex128))
        x = back(y.astype(np.complex128))
    ok = np.isfinite(x).all() and np.max(np.abs(x - points) / (1 + np.abs(points))) < 1e-9
    return bool(ok)


def _newton_inverse_torch(forward, jacobian, lo, hi, iters: int = 25, halvings: int = 5,
                          early_exit: bool = False):
    """g(y) by damped Newton on f(x) = y. With early_exit=False it is written for torch.func (fixed
    iteration counts, torch.where in place of branches, so vmap and jacrev pass through; at convergence
    the derivative is J_f^-1); early_exit=True stops once every point has converged (plain tensors only).
    forward: (B, d) -> (B, d); jacobian: (B, d) -> (B, d, d); start at y clipped into the domain."""
    def inverse(y):
        lo_t = torch.as_tensor(lo, dtype=y.dtype, device=y.device)
        hi_t = torch.as_tensor(hi, dtype=y.dtype, device=y.device)
        span = torch.where(torch.isinf(hi_t - lo_t), torch.ones_like(lo_t), (hi_t - lo_t) * 0.01)
        x = torch.minimum(torch.maximum(y, lo_t + span), hi_t - span)          # (B, d)
        tol = 1e-13 * (1 + y.abs().amax(-1))                                     # (B,)
        for _ in range(iters):
            resid = forward(x) - y
            size = resid.abs().amax(-1)
            if early_exit and bool((size <= tol).all()):
                break
            step = torch.linalg.solve(jacobian(x), resid.unsqueeze(-1)).squeeze(-1)
            chosen, done, t = x, torch.zeros_like(size, dtype=torch.bool), 1.0
            for _ in range(halvings):  # backtracking: the first halving that lowers the residual
                cand = x - t * step
                inside = ((cand > lo_t) & (cand < hi_t)).all(-1)
                better = (forward(cand) - y).abs().amax(-1) < size
                ok = inside & (better | (size <= tol)) & ~done
                chosen = torch.where(ok.unsqueeze(-1), cand, chosen)
                done = done | ok
                t = t / 2
                if early_exit and bool(done.all()):
                    break
            x = chosen
        return x
    return inverse


# ======================================================================================================
# The push-forward score
# ======================================================================================================


@dataclass
class Pushforward:
    """Everything `pushforward_score` derived. Expressions are in y (closed-form or given inverse) or,
    when the inverse is numeric, in the preimage x = f^-1(y) (`variables` says which). The numeric
    twins (score_numpy, score_torch, log_density_*, terms_numpy, inverse_*) take points (B, d), or (B,)
    in 1-D, in y, float64. `score` is simplified for display where that is safe; `transported` and
    `volume` are the two terms of the Jacobian formula."""

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

    # numeric twins ------------------------------------------------------------------------------------
    def score_numpy(self, y):
        return self.functions["score_numpy"](y)

    def score_torch(self, y):
        return self.functions["score_torch"](y)

    def log_density_numpy(self, y):
        return self.functions["log_density_numpy"](y)

    def log_density_torch(self, y):
        return self.functions["log_density_torch"](y)

    def terms_numpy(self, y):
        """(transported, volume) at y, each (B, d)."""
        return self.functions["transported_numpy"](y), self.functions["volume_numpy"](y)

    def inverse_numpy(self, y):
        return self.functions["inverse_numpy"](y)

    def inverse_torch(self, y):
        return self.functions["inverse_torch"](y)

    def inverse_torch_func(self, y):
        """g(y) in torch operations that torch.func can differentiate (for a numeric inverse: a fixed
        number of damped Newton steps, not checked for convergence)."""
        return self.functions["inverse_torch_func"](y)

    def forward_numpy(self, x):
        return self.functions["forward_numpy"](x)

    def forward_torch(self, x):
        return self.functions["forward_torch"](x)

    def base_score_torch(self, x):
        return self.functions["base_score_torch"](x)

    def summary(self) -> str:
        at = "y" if self.variables == self.y_symbols else "x = f^-1(y) (numeric inverse)"
        lines = [f"map: {tuple(self.map_exprs)} in {tuple(self.x_symbols)}",
                 f"inverse [{self.inverse_route}]: {tuple(self.inverse) if self.inverse else 'Newton on f(x) = y'}",
                 f"log|det J_f| = {self.log_abs_det}",
                 f"log p_Y, written at {at}: {self.log_density}"]
        lines += [f"d/d{y} log p_Y = {s}" for y, s in zip(self.y_symbols, self.score)]
        lines.append(f"Jacobian-formula check: {self.check} ({self.check_note})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


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


def pushforward_score(map_exprs, x_symbols, base_logpdf, y_symbols, *, domain=None, inverse=None,
                      params=None, simplify: bool = True, check_points: int = 200, seed: int = 0,
                      box=None) -> Pushforward:
    """Derive the density and score of Y = f(X) for a 1-D or 2-D map written in sympy.

    map_exprs: f as an expression (1-D) or a list of expressions (strings are parsed); x_symbols and
    y_symbols: the coordinates before and after the map; base_logpdf: log p_X in x (normalised here by
    quadrature if it is not). domain: {x_symbol: (lo, hi) or sympy Interval}; by default from the
    symbols' assumptions (positive=True -> (0, oo)), else the real line. inverse: None (derive), a list
    of expressions in y (verified), or 'numeric' (Newton). params: {symbol: value} substituted first.
    Raises ValueError for a non-square Jacobian, a map that is not invertible on its domain, or a base
    density that is not normalisable there."""
    xs, ys = _symbols(x_symbols), _symbols(y_symbols)
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
    d = len(xs)
    # internal real y symbols (sqrt/log simplify better); the user's symbols are put back at the end
    yr = [sp.Dummy(s.name, real=True) for s in ys]
    back_to_user = dict(zip(yr, ys))

    intervals = [_interval(s, domain) for s in xs]
    dom = dict(zip(xs, intervals))
    z = normalising_constant(base, xs, domain)
    normalised = base if abs(z - 1) < 1e-6 else base - sp.log(sp.Float(z))
    points = _sample_points(intervals, check_points, seed, box)                   # (n, d) preimages

    jac = sp.Matrix(maps).jacobian(xs)
    det = sp.simplify(jac.det())
    if det == 0:
        raise ValueError("the map is not invertible: det J_f vanishes identically")
    sign = _determinant_sign(det, xs, intervals, points)
    log_abs_det = sp.expand_log(sp.log(sign * det), force=False)
    base_score = [sp.diff(normalised, v) for v in xs]

    # --- the inverse -------------------------------------------------------------------------------
    route, g = "numeric (Newton)", None
    if isinstance(inverse, str) and inverse == "numeric":
        pass
    elif inverse is not None:
        given = inverse if isinstance(inverse, (list, tuple)) else [inverse]
        g = [_parse(e, ys, "inverse").xreplace(dict(zip(ys, yr))) for e in given]
        if len(g) != d or not _round_trips(g, xs, yr, maps, points):
            raise ValueError("the given inverse does not satisfy g(f(x)) = x at points of the domain")
        route = "given"
    else:
        for use_solve in (False, True):
            found = [c for c in _candidate_inverses(maps, xs, yr, use_solve)
                     if _round_trips(c, xs, yr, maps, points)]  # the branch that holds on the domain
            if found:
                g, route = found[0], "closed form" + (" (sympy.solve)" if use_solve else "")
                break

    functions = {
        "forward_numpy": _batched(_rows_function(maps, xs, "numpy"), d, "numpy"),
        "forward_torch": _batched(_rows_function(maps, xs, "torch"), d, "torch"),
        "base_score_torch": _batched(_rows_function(base_score, xs, "torch"), d, "torch"),
        "base_score_numpy": _batched(_rows_function(base_score, xs, "numpy"), d, "numpy"),
    }
    y_points = functions["forward_numpy"](points)                                  # (n, d)

    if g is not None:
        result = _symbolic_route(maps, xs, yr, g, normalised, log_abs_det, sign, base_score, simplify,
                                 y_points, functions)
    else:
        result = _numeric_route(maps, xs, jac, normalised, log_abs_det, base_score, intervals, simplify,
                                points, y_points, functions)
    log_density, score, transported, volume, check = result
    variables = ys if g is not None else xs

    def user(e):
        return e.xreplace(back_to_user)

    return Pushforward(
        map_exprs=maps, x_symbols=xs, y_symbols=ys, domain=dom, inverse_route=route,
        inverse=None if g is None else [user(e) for e in g], jacobian=jac, log_abs_det=log_abs_det,
        base_logpdf=normalised, normaliser=z, variables=variables, log_density=user(log_density),
        score=[user(e) for e in score], transported=[user(e) for e in transported],
        volume=[user(e) for e in volume], check=check[0], check_error=check[1], check_passed=bool(check[2]),
        check_note=check[3], functions=functions)


def _symbolic_route(maps, xs, yr, g, base, log_abs_det, sign, base_score, simplify, y_points, functions):
    d = len(xs)
    at_g = dict(zip(xs, g))
    # lhs: differentiate log p_Y(y) = log p_X(g(y)) - log|det J_f(g(y))| (the forward Jacobian)
    log_density = base.xreplace(at_g) - log_abs_det.xreplace(at_g)
    score = [sp.diff(log_density, y) for y in yr]
    # rhs: the Jacobian formula with J_g = dg/dy
    jac_g = sp.Matrix(g).jacobian(yr)
    transported = list(jac_g.T * sp.Matrix([s.xreplace(at_g) for s in base_score]))
    log_det_g = sp.log(sign * jac_g.det())  # det J_g = 1 / det J_f: same sign
    volume = [sp.diff(log_det_g, y) for y in yr]
    differences = [_reduce_to_zero(s - (t + v)) for s, t, v in zip(score, transported, volume)]
    for backend in ("numpy", "torch"):
        for name, exprs in (("score", score), ("transported", transported), ("volume", volume), ("inverse", g)):
            functions[f"{name}_{backend}"] = _batched(_rows_function(exprs, yr, backend), d, backend)
        functions[f"log_density_{backend}"] = _batched(_rows_function([log_density], yr, backend), d, backend,
                                                       vector_out=False)
    functions["inverse_torch_func"] = functions["inverse_torch"]
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


def _numeric_route(maps, xs, jac, base, log_abs_det, base_score, intervals, simplify, points, y_points,
                   functions):
    """No closed-form inverse: expressions in the preimage x; g(y) by Newton's method."""
    d = len(xs)
    jac_inv_t = jac.inv().T                                                       # J_g^T at x = J_f^-T
    log_density = base - log_abs_det
    score = list(jac_inv_t * sp.Matrix([sp.diff(log_density, v) for v in xs]))
    transported = list(jac_inv_t * sp.Matrix(base_score))
    volume = list(jac_inv_t * sp.Matrix([sp.diff(-log_abs_det, v) for v in xs]))
    lo = [iv[0] for iv in intervals]
    hi = [iv[1] for iv in intervals]
    forward_t = _rows_function(maps, xs, "torch")
    jac_t = _rows_function(list(jac), xs, "torch")
    jac_square = (lambda x: jac_t(x).reshape(x.shape[0], d, d))
    newton = _newton_inverse_torch(forward_t, jac_square, lo, hi)            # differentiable by torch.func
    newton_fast = _newton_inverse_torch(forward_t, jac_square, lo, hi, iters=100, halvings=12, early_exit=True)

    def inverse_torch(y):
        """Newton until every point has converged, then a convergence check (plain tensors)."""
        x = newton_fast(y.detach())
        resid = (forward_t(x) - y).abs().amax(-1)
        bad = ~(resid <= 1e-9 * (1 + y.abs().amax(-1)))
        if bad.any():
            raise ValueError(f"Newton's method did not converge at {int(bad.sum())} of {len(y)} points: are "
                             "they in the image of the map?")
        return x

    def inverse_numpy(y):
        return inverse_torch(torch.from_numpy(np.asarray(y, dtype=np.float64))).numpy()

    functions["inverse_torch"] = _batched(inverse_torch, d, "torch")
    functions["inverse_torch_func"] = _batched(newton, d, "torch")
    functions["inverse_numpy"] = _batched(inverse_numpy, d, "numpy")
    for name, exprs in (("score", score), ("transported", transported), ("volume", volume),
                        ("log_density", [log_density])):
        for backend in ("numpy", "torch"):
            at_x = _rows_function(exprs, xs, backend)
            inv = inverse_numpy if backend == "numpy" else inverse_torch
            functions[f"{name}_{backend}"] = _batched(lambda y, f=at_x, i=inv: f(i(y)), d, backend,
                                                      vector_out=name != "log_density")
    # one preimage per point: Newton from f(x) must come back to x (else the map is not injective)
    try:
        recovered = inverse_numpy(y_points)
    except ValueError as err:
        raise ValueError(f"the map may not be invertible on its stated domain: for points f(x) of its image, "
                         f"{err.args[0].split(':')[0]}; pass inverse=[...] if you know the inverse") from None
    if np.max(np.abs(recovered - points) / (1 + np.abs(points))) > 1e-7:
        raise ValueError("the map is not invertible on its stated domain: Newton's method found a different "
                         "preimage for some f(x) (two points share an image)")
    # the check: the score against central finite differences of log p_Y(y) (with the Newton inverse)
    log_p = functions["log_density_numpy"]
    fd = np.zeros_like(y_points)
    for i in range(d):
        h = 1e-5 * (1 + np.abs(y_points[:, i]))
        step = np.zeros_like(y_points)
        step[:, i] = h
        fd[:, i] = (log_p(y_points + step) - log_p(y_points - step)) / (2 * h)
    err = max_relative_error(functions["score_numpy"](y_points), fd)
    check = ("numeric", err, err <= 1e-6, f"no closed-form inverse: score vs central finite differences of "
             f"log p_Y (Newton inverse), max relative error {err:.2e} at {len(y_points)} points")
    display = [_maybe_simplify(s, simplify) for s in score]
    return _maybe_simplify(log_density, simplify), display, transported, volume, check


def autograd_agreement(result: Pushforward, n: int = 200, seed: int = 1, box=None) -> float:
    """Max relative error between the sympy score and scoreaug_lab.scores.pushforward_score (torch.func
    jacrev/vmap through the result's torch inverse and base score) at n points f(x), x in the domain."""
    from .scores import pushforward_score as torch_pushforward

    points = _sample_points(list(result.domain.values()), n, seed, box)
    y = torch.from_numpy(result.forward_numpy(points))
    autograd = torch_pushforward(result.base_score_torch, result.inverse_torch_func)(y)
    return max_relative_error(result.score_torch(y).numpy(), autograd.numpy())


# ======================================================================================================
# EDM preconditioning identities
# ======================================================================================================


def edm_coefficients(sigma=None, sigma_data=None) -> dict:
    """EDM's coefficients as sympy expressions of (sigma, sigma_data) (positive symbols by default)."""
    s = sigma if sigma is not None else sp.Symbol("sigma", positive=True)
    sd = sigma_data if sigma_data is not None else sp.Symbol("sigma_data", positive=True)
    total = s**2 + sd**2
    return {"sigma": s, "sigma_data": sd, "c_skip": sd**2 / total, "c_out": s * sd / sp.sqrt(total),
            "c_in": 1 / sp.sqrt(total), "c_noise": sp.log(s) / 4, "lambda": total / (s * sd) ** 2}


def _expectation(expr, standard):
    """E[expr] for a polynomial of degree <= 2 in independent standard variables (mean 0, variance 1):
    only first and second moments enter, so the distribution beyond them does not matter."""
    poly = sp.Poly(sp.expand(expr), *standard)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        if sum(powers) > 2:
            raise ValueError("_expectation handles polynomials of degree <= 2 only")
        total += coeff * sp.prod([{0: 1, 1: 0, 2: 1}[p] for p in powers])
    return total


def _variance(expr, standard):
    return sp.simplify(_expectation(expr**2, standard) - _expectation(expr, standard) ** 2)


def edm_identities() -> list[dict]:
    """The identities behind EDM's preconditioning, each proved by simplify(lhs - rhs) == 0.
    x0 = mu + sigma_data z (any distribution with that variance), noise n; z, n independent standard."""
    c = edm_coefficients()
    s, sd = c["sigma"], c["sigma_data"]
    mu = sp.Symbol("mu", real=True)
    z, n = sp.symbols("z n", real=True)
    x0 = mu + sd * z
    y = x0 + s * n
    c_free = sp.Symbol("c", real=True)
    target = (x0 - c_free * y) / c["c_out"]                    # what the raw network F must output
    var_target = _variance(target, [z, n])                     # a function of the skip weight c
    minimisers = sp.solve(sp.diff(var_target, c_free), c_free)
    F = sp.Symbol("F", real=True)
    denoiser = c["c_skip"] * y + c["c_out"] * F
    rows = [
        ("lambda * c_out^2 = 1", c["lambda"] * c["c_out"] ** 2, sp.Integer(1)),
        ("Var[c_in (x0 + sigma n)] = 1", _variance(c["c_in"] * y, [z, n]), sp.Integer(1)),
        ("Var[F_target] = 1 at c = c_skip", var_target.subs(c_free, c["c_skip"]), sp.Integer(1)),
        ("d Var[F_target] / dc = 0 only at c = c_skip", minimisers[0] if len(minimisers) == 1 else sp.nan,
         c["c_skip"]),
        ("d^2 Var[F_target] / dc^2 > 0 (a minimum)", sp.diff(var_target, c_free, 2) > 0, sp.true),
        ("lambda |D - x0|^2 = |F - F_target|^2", c["lambda"] * (denoiser - x0) ** 2,
         (F - target.subs(c_free, c["c_skip"])) ** 2),
    ]
    out = []
    for name, lhs, rhs in rows:
        shown = sp.simplify(lhs)
        if isinstance(rhs, sp.logic.boolalg.BooleanAtom):  # a statement: proved when it simplifies to True
            difference, proved = shown, shown == sp.true
        else:
            difference = sp.simplify(lhs - rhs)
            proved = difference == 0
        out.append({"identity": name, "lhs": shown, "rhs": rhs, "difference": difference, "proved": bool(proved)})
    return out


def edm_numeric_check(sigmas=None, sigma_data: float = 0.5) -> dict:
    """Max |sympy - scoreaug_lab.diffusion| over a sigma grid for c_skip, c_out, c_in, c_noise, lambda."""
    from .diffusion import edm_coefficients as torch_coefficients, loss_weight

    sigmas = torch.logspace(-3, 2, 101, dtype=torch.float64) if sigmas is None else torch.as_tensor(
        sigmas, dtype=torch.float64)
    c = edm_coefficients()
    values = dict(zip(("c_skip", "c_out", "c_in", "c_noise"), torch_coefficients(sigmas, sigma_data)))
    values["lambda"] = loss_weight(sigmas, sigma_data)
    out = {}
    for name, got in values.items():
        expr = c[name].subs(c["sigma_data"], sp.Float(sigma_data))
        ref = sp.lambdify(c["sigma"], expr, modules="numpy")(sigmas.numpy())
        out[name] = float(np.max(np.abs(np.broadcast_to(ref, sigmas.shape) - got.numpy())))
    return out


# ======================================================================================================
# Noise covariance of image transforms, as explicit matrices
# ======================================================================================================
# An image (H, W) of one channel is a vector of H*W pixels in row-major order; a linear transform is a
# matrix T with T[out_pixel, in_pixel]. White noise sigma n becomes T sigma n with covariance sigma^2 T T^T.


def _index(i: int, j: int, size: int) -> int:
    return i * size + j


def _matrix_from_source(size: int, source, exact: bool = True):
    """0/1 matrix (sympy when exact, else float64 numpy): output pixel (i, j) copies input pixel
    source(i, j); None means zero padding."""
    n = size * size
    T = sp.zeros(n, n) if exact else np.zeros((n, n))
    for i in range(size):
        for j in range(size):
            src = source(i, j)
            if src is not None:
                T[_index(i, j, size), _index(*src, size)] = 1
    return T


def rot90_matrix(size: int = 4, exact: bool = True):
    """Quarter turn as torch.rot90(img, 1, dims=(0, 1)): out[i, j] = in[j, size - 1 - i]."""
    return _matrix_from_source(size, lambda i, j: (j, size - 1 - i), exact)


def hflip_matrix(size: int = 4, exact: bool = True):
    """Left-right mirror: out[i, j] = in[i, size - 1 - j]."""
    return _matrix_from_source(size, lambda i, j: (i, size - 1 - j), exact)


def vflip_matrix(size: int = 4, exact: bool = True):
    """Up-down mirror: out[i, j] = in[size - 1 - i, j]."""
    return _matrix_from_source(size, lambda i, j: (size - 1 - i, j), exact)


def brightness_matrix(size: int = 4, a=None, exact: bool = True):
    """x -> a x; a is a positive sympy symbol by default (exact), 1.5 in float64."""
    if not exact:
        return (1.5 if a is None else float(a)) * np.eye(size * size)
    a = sp.Symbol("a", positive=True) if a is None else sp.sympify(a)
    return a * sp.eye(size * size)


def cutout_matrix(size: int = 4, top: int = 1, left: int = 1, extent: int = 2, exact: bool = True):
    """Zero a square of side `extent` at (top, left); the other pixels pass through."""
    inside = (lambda i, j: top <= i < top + extent and left <= j < left + extent)
    return _matrix_from_source(size, lambda i, j: None if inside(i, j) else (i, j), exact)


def translate_matrix(size: int = 4, dy: int = 0, dx: int = 1, exact: bool = True):
    """Shift by (dy, dx) pixels with zero padding: out[i, j] = in[i - dy, j - dx] (0 outside)."""
    def source(i, j):
        si, sj = i - dy, j - dx
        return (si, sj) if 0 <= si < size and 0 <= sj < size else None
    return _matrix_from_source(size, source, exact)


def _rotation_sources(size: int, degrees: float):
    """Source coordinates (row, col) for every output pixel of a rotation about the image centre, in the
    convention of torch.nn.functional.affine_grid with theta = [[cos, -sin, 0], [sin, cos, 0]]
    (align_corners=False): col_s = c + cos (j - c) - sin (i - c), row_s = c + sin (j - c) + cos (i - c)."""
    t = math.radians(degrees)
    c = (size - 1) / 2
    i, j = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64), indexing="ij")
    col = c + math.cos(t) * (j - c) - math.sin(t) * (i - c)
    row = c + math.sin(t) * (j - c) + math.cos(t) * (i - c)
    return row, col


def bilinear_rotation_matrix(size: int = 4, degrees: float = 30.0) -> np.ndarray:
    """Rotation about the centre with bilinear interpolation and zero padding, float64 (size^2, size^2):
    each output pixel mixes the four input pixels around its source point with weights (1-u)(1-v), ...;
    neighbours outside the image contribute 0 (they are zero padding)."""
    row, col = _rotation_sources(size, degrees)
    T = np.zeros((size * size, size * size))
    for i in range(size):
        for j in range(size):
            r0, c0 = math.floor(row[i, j]), math.floor(col[i, j])
            v, u = row[i, j] - r0, col[i, j] - c0
            for dr, dc, w in ((0, 0, (1 - v) * (1 - u)), (0, 1, (1 - v) * u), (1, 0, v * (1 - u)), (1, 1, v * u)):
                rr, cc = r0 + dr, c0 + dc
                if 0 <= rr < size and 0 <= cc < size:
                    T[_index(i, j, size), _index(rr, cc, size)] += w
    return T


def nearest_rotation_matrix(size: int = 4, degrees: float = 30.0) -> np.ndarray:
    """Rotation about the centre with nearest-neighbour lookup (round half to even) and zero padding."""
    row, col = _rotation_sources(size, degrees)
    T = np.zeros((size * size, size * size))
    for i in range(size):
        for j in range(size):
            rr, cc = int(np.rint(row[i, j])), int(np.rint(col[i, j]))
            if 0 <= rr < size and 0 <= cc < size:
                T[_index(i, j, size), _index(rr, cc, size)] = 1.0
    return T


def image_transform_matrices(size: int = 4, degrees: float = 30.0, brightness=None, exact: bool | None = None) -> dict:
    """name -> T for the transforms of the covariance table: sympy exact matrices (default for size <= 8;
    brightness a symbol unless given) or float64 numpy ones; interpolated rotations are always float64."""
    if size < 2:
        raise ValueError(f"the grid needs size >= 2, got {size}")
    exact = size <= 8 if exact is None else exact
    return {"identity": sp.eye(size * size) if exact else np.eye(size * size),
            "rot90": rot90_matrix(size, exact), "hflip": hflip_matrix(size, exact),
            "vflip": vflip_matrix(size, exact), "brightness": brightness_matrix(size, brightness, exact),
            "cutout": cutout_matrix(size, top=size // 4, left=size // 4, extent=max(1, size // 2), exact=exact),
            "translate": translate_matrix(size, 0, 1, exact),
            f"rotate{degrees:g}_bilinear": bilinear_rotation_matrix(size, degrees),
            f"rotate{degrees:g}_nearest": nearest_rotation_matrix(size, degrees)}


def covariance_row(name: str, T) -> dict:
    """Properties of the noise covariance C = T T^T (in units of sigma^2) for one transform:
    orthogonal (C = I), projection (C^2 = C), rank, retained_variance = tr(C) / n, the same averaged
    over the output pixels that lose nothing to padding or cutout (their row of T has the largest sum),
    and the largest covariance C puts between two different pixels."""
    n = T.shape[0]
    if isinstance(T, sp.MatrixBase):
        C = T * T.T
        orthogonal = (C - sp.eye(n)).is_zero_matrix
        scaled = C.is_diagonal() and len(set(C.diagonal())) == 1
        projection = C.is_symmetric() and (C * C - C).is_zero_matrix
        off = max((abs(C[i, j]) for i in range(n) for j in range(n) if i != j), default=sp.Integer(0))
        retained = sp.simplify(C.trace() / n)
        sums = [sum(T.row(k)) for k in range(n)]
        unpadded = [k for k in range(n) if sp.simplify(sums[k] - max(sums, key=sp.default_sort_key)) == 0]
        inside = sp.simplify(sum(C[k, k] for k in unpadded) / len(unpadded))
        rank = C.rank()
        exact = True
    else:
        C = T @ T.T
        orthogonal = bool(np.allclose(C, np.eye(n), atol=1e-12, rtol=0))
        scaled = bool(np.allclose(C, C[0, 0] * np.eye(n), atol=1e-12, rtol=0))
        projection = bool(np.allclose(C @ C, C, atol=1e-12, rtol=0))
        off = float(np.max(np.abs(C - np.diag(np.diag(C)))))
        retained = float(np.trace(C) / n)
        rank = int(np.linalg.matrix_rank(C, tol=1e-10))
        exact = False
        sums = T.sum(1)
        unpadded = np.isclose(sums, sums.max(), rtol=0, atol=1e-12)
        inside = float(np.mean(np.diag(C)[unpadded]))
    if orthogonal:
        kind = "I (noise kept exactly)"
    elif scaled:
        kind = f"{C[0, 0]} * I (noise level rescaled)"
    elif projection:
        kind = f"projection of rank {rank} (noise-free pixels)"
    else:
        kind = "correlated, not a projection"
    return {"transform": name, "exact": exact, "orthogonal": bool(orthogonal), "projection": bool(projection),
            "rank": int(rank), "retained_variance": retained, "retained_unpadded": inside,
            "max_offdiagonal": off, "covariance": kind}


def noise_covariance_table(size: int = 4, degrees: float = 30.0, brightness=None,
                           exact: bool | None = None) -> list[dict]:
    """One row per transform (see covariance_row): is T T^T = I, a projection, its rank, the retained
    variance tr(T T^T) / n, and the largest covariance between two pixels."""
    return [covariance_row(name, T)
            for name, T in image_transform_matrices(size, degrees, brightness, exact).items()]


def format_table(rows: list[dict]) -> str:
    """A plain-text table of dict rows (same keys in each)."""
    if not rows:
        return ""
    keys = list(rows[0])
    cells = [[f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    line = "  ".join(k.ljust(w) for k, w in zip(keys, widths))
    body = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join([line, "-" * len(line), *body])
