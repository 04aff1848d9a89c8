"""Inverting a map y = f(x) of 1 or 2 coordinates: is it invertible on its domain (the sign of det J_f),
is it smooth with a derivative that vanishes nowhere inside it (else the score of Y is singular there and
sympy's derivatives bring in DiracDelta: x**3 on the real line is refused, on x > 0 derived), its inverse in
closed form (by the structure of the map, else sympy.solve; the branch chosen by
round-tripping points of the domain), and, where no closed form is found, Newton's method on f(x) = y."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
import torch

from .numeric import _check_box, _rows_function

NEWTON = "numeric (Newton)"


def _open_interval(lo: float, hi: float):
    """The open interval (lo, hi) for sympy (floats, +-inf allowed)."""
    def end(v):
        return (sp.oo if v > 0 else -sp.oo) if math.isinf(v) else sp.nsimplify(v)
    return sp.Interval.open(end(lo), end(hi))


def _zeros_1d(det_expr, x, lo: float, hi: float):
    """The zeros of det J_f inside the open domain (lo, hi) as a sympy set by solveset, or None where sympy
    cannot tell (a ConditionSet, an error, or an expression too large to try)."""
    if sp.count_ops(det_expr) > 60:
        return None
    try:
        zeros = sp.solveset(det_expr, x, _open_interval(lo, hi))
    except Exception:  # noqa: BLE001 - solveset's failures are many; the numeric checks remain
        return None
    if isinstance(zeros, sp.ConditionSet) or zeros.has(sp.ConditionSet):
        return None
    return zeros


def _some_zeros(zeros, lo: float, hi: float, n: int = 3, tries: int = 200) -> list:
    """Up to n elements of a set of zeros inside (lo, hi): a FiniteSet's own, or the first of its periodic
    families (ImageSets, as solveset gives for 1 + cos(x)) that fall in the interval (at most `tries` each)."""
    if isinstance(zeros, sp.FiniteSet):
        return sorted(zeros, key=lambda e: float(e))
    found = []
    for family in [zeros] if isinstance(zeros, sp.ImageSet) else zeros.atoms(sp.ImageSet):
        for i, item in enumerate(family):
            if i >= tries or len(found) >= n:
                break
            if lo < float(item) < hi:
                found.append(item)
    for finite in zeros.atoms(sp.FiniteSet):
        found += [e for e in finite if e.is_number and lo < float(e) < hi]
    return sorted(set(found), key=lambda e: float(e))


def _domain_text(xs, intervals) -> str:
    return ", ".join(f"{s} in ({lo:g}, {hi:g})" for s, (lo, hi) in zip(xs, intervals))


_ADVICE = ("restrict the domain to where it does not vanish (for example domain={x: (0, oo)} or a positive "
           "symbol), or choose a map whose derivative is never 0")


def check_map_is_smooth(det_expr, xs, intervals) -> None:
    """A ValueError where det J_f contains DiracDelta or Heaviside: the map jumps or has a kink."""
    if det_expr.has(sp.DiracDelta, sp.Heaviside):
        which = "DiracDelta" if det_expr.has(sp.DiracDelta) else "Heaviside"
        raise ValueError(f"the map has a jump or a kink on {_domain_text(xs, intervals)} (det J_f = {det_expr} "
                         f"contains {which}), so it is not differentiable there; restrict the domain to one "
                         "smooth piece")


def check_jacobian_nonvanishing(det_expr, xs, intervals, points) -> None:
    """A ValueError, in one sentence, where det J_f vanishes inside the domain. There the inverse has an
    infinite slope, p_Y is infinite and sympy's derivatives bring in DiracDelta, sign or Abs (x**3 on the
    real line: det J_f = 3*x**2 is 0 at x = 0). 1-D: the zeros by sympy.solveset on the open domain (and
    the first few of a periodic family); where sympy cannot tell (and in 2-D): exact zeros at the points."""
    where = _domain_text(xs, intervals)
    if len(xs) == 1:
        zeros = _zeros_1d(det_expr, xs[0], *intervals[0])
        if zeros is not None and zeros.is_empty:
            return
        found = [] if zeros is None else _some_zeros(zeros, *intervals[0])
        if found:
            shown = ", ".join(str(e) for e in found[:3]) + (", ..." if len(found) > 3 or not isinstance(
                zeros, sp.FiniteSet) else "")
            raise ValueError(f"the map's derivative det J_f = {det_expr} vanishes at {xs[0]} = {shown} inside "
                             f"the domain {where}, where its inverse has an infinite slope and the density of "
                             f"Y is infinite: {_ADVICE}")
    vals = _rows_function([det_expr], xs, "numpy")(points)[:, 0]
    hits = points[np.isfinite(vals) & (vals == 0)]
    if len(hits):
        at = ", ".join(f"{s} = {v:g}" for s, v in zip(xs, hits[0]))
        raise ValueError(f"the map's Jacobian determinant det J_f = {det_expr} vanishes at {at} inside the "
                         f"domain {where}, where its inverse has an infinite slope and the density of Y is "
                         f"infinite: {_ADVICE}")


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


# --- closed form ------------------------------------------------------------------------------------------


def _odd_root(t, n):
    """The real n-th root for odd n (sympy's t**(1/n) is the principal, complex root for t < 0)."""
    return sp.sign(t) * sp.Abs(t) ** (sp.Integer(1) / n)


def _invert_structural(expr, x, target, real_odd_roots: bool = False):
    """Solve expr(x) = target by peeling off the outermost invertible operation; None if that fails.
    Odd integer powers are undone by the principal root t**(1/n) (real for t > 0: no sign or Abs for
    sympy to differentiate into DiracDelta), or with real_odd_roots by sign(t) |t|**(1/n) (real for
    every t). Branches are not checked here (the caller round-trips points of the domain)."""
    if expr == x:
        return target
    if not expr.has(x):
        return None
    if expr.is_Add or expr.is_Mul:
        dep = [a for a in expr.args if a.has(x)]
        if len(dep) != 1:
            return None
        rest = target - (expr - dep[0]) if expr.is_Add else target / (expr / dep[0])
        return _invert_structural(dep[0], x, rest, real_odd_roots)
    if expr.is_Pow:
        base, power = expr.args
        if base.has(x) and not power.has(x):
            if real_odd_roots and power.is_Integer and power % 2 == 1 and abs(power) > 1:
                return _invert_structural(base, x, _odd_root(target, power) if power > 0
                                          else 1 / _odd_root(target, -power), real_odd_roots)
            return _invert_structural(base, x, target ** (1 / power), real_odd_roots)
        if power.has(x) and not base.has(x):
            return _invert_structural(power, x, sp.log(target) / sp.log(base), real_odd_roots)
        return None
    if isinstance(expr, sp.Function) and len(expr.args) == 1:
        try:
            inverse = expr.inverse()
        except (AttributeError, NotImplementedError, TypeError):
            return None
        return _invert_structural(expr.args[0], x, inverse(target), real_odd_roots)
    return None


def _solve_one(expr, x, target, use_solve: bool) -> list:
    """Candidate solutions of expr(x) = target: the structural inverses (principal roots first, then real
    odd roots), or (use_solve) sympy.solve's."""
    if not use_solve:
        found = [_invert_structural(expr, x, target, real) for real in (False, True)]
        return [g for i, g in enumerate(found) if g is not None and g not in found[:i]]
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
        for i in remaining:  # the next equation with a single unknown left
            free = [v for v in unknown if maps[i].has(v)]
            if len(free) == 1:
                step = (i, free[0])
                break
        if step is None:
            break
        i, v = step
        partial = [{**sol, v: c} for sol in partial
                   for c in _solve_one(maps[i].xreplace(sol), v, ys[i], use_solve)]
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


def find_inverse(maps, xs, ys, points, given=None) -> tuple:
    """(route, g): a given inverse (expressions in ys) verified by round trips, else the first candidate
    whose branch holds on the domain, structural before sympy.solve; (NEWTON, None) when none is found."""
    if given is not None:
        if len(given) != len(xs) or not _round_trips(given, xs, ys, maps, points):
            raise ValueError("the given inverse does not satisfy g(f(x)) = x at points of the domain")
        return "given", given
    for use_solve in (False, True):
        for g in _candidate_inverses(maps, xs, ys, use_solve):
            if _round_trips(g, xs, ys, maps, points):
                return "closed form" + (" (sympy.solve)" if use_solve else ""), g
    return NEWTON, None


# --- Newton's method --------------------------------------------------------------------------------------


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


def newton_inverses(maps, xs, jac, intervals) -> tuple:
    """(for_autograd, checked), both torch (B, d) -> (B, d): `for_autograd` runs a fixed number of damped
    Newton steps (torch.func differentiates through it, convergence unchecked); `checked` iterates until
    every point has converged and raises a ValueError where Newton's method did not."""
    d = len(xs)
    lo, hi = [iv[0] for iv in intervals], [iv[1] for iv in intervals]
    forward = _rows_function(maps, xs, "torch")
    jac_rows = _rows_function(list(jac), xs, "torch")

    def jacobian(x):
        return jac_rows(x).reshape(x.shape[0], d, d)

    for_autograd = _newton_inverse_torch(forward, jacobian, lo, hi)
    fast = _newton_inverse_torch(forward, jacobian, lo, hi, iters=100, halvings=12, early_exit=True)

    def checked(y):
        x = fast(y.detach())
        resid = (forward(x) - y).abs().amax(-1)
        bad = ~(resid <= 1e-9 * (1 + y.abs().amax(-1)))
        if bad.any():
            raise ValueError(f"Newton's method did not converge at {int(bad.sum())} of {len(y)} points: are "
                             "they in the image of the map?")
        return x
    return for_autograd, checked


def check_one_preimage(inverse_numpy, points, y_points) -> None:
    """Newton started from f(x) must come back to x at every check point (else the map is not injective)."""
    try:
        recovered = inverse_numpy(y_points)
    except ValueError as err:
        raise ValueError(f"the map may not be invertible on its stated domain: for points f(x) of its image, "
                         f"{err.args[0].split(':')[0]}; pass inverse=[...] if you know the inverse") from None
    if np.max(np.abs(recovered - points) / (1 + np.abs(points))) > 1e-7:
        raise ValueError("the map is not invertible on its stated domain: Newton's method found a different "
                         "preimage for some f(x) (two points share an image)")
