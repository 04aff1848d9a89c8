"""Assignment 3, the hidden inputs and how each answer is called on them (sent into the sandbox).

Each case carries the map and the law twice: as sympy expressions (what question 1 derives from) and as torch
functions (what questions 2 and 3 take, and what the grader's oracles differentiate with torch.func).
"""
import math

import numpy as np
import sympy as sp
import torch

from scoreaug_lab import scores

FORBIDDEN = {
    "q1_pushforward_terms": ["scoreaug_lab.scores.pushforward_score_terms", "scoreaug_lab.scores.pushforward_score",
                             "scoreaug_lab.scores.transform_pushforward_score_terms",
                             "scoreaug_lab.symbolic.pushforward.derive_pushforward",
                             "scoreaug_lab.symbolic.pushforward.Pushforward"],
    "q2_autograd": ["scoreaug_lab.scores.pushforward_log_prob", "scoreaug_lab.scores.autograd_score",
                    "scoreaug_lab.scores.pushforward_score"],
    "q3_check": ["scoreaug_lab.symbolic.pushforward.autograd_agreement",
                 "scoreaug_lab.symbolic.numeric.max_relative_error"],
}


# --- question 1 -----------------------------------------------------------------------------------------------
def q1_cases():
    """[(name, log_p_x, xs, inverse, ys, torch log_p_x, torch inverse, points)]."""
    g = torch.Generator().manual_seed(17)
    x, x1, x2, x3 = sp.symbols("x x1 x2 x3", real=True)
    yp, yr = sp.Symbol("y", positive=True), sp.Symbol("y", real=True)
    y1p, y2, y1, y3 = sp.Symbol("y1", positive=True), sp.Symbol("y2", real=True), sp.Symbol("y1", real=True), \
        sp.Symbol("y3", real=True)
    mu, s = 0.3, 0.8
    A = torch.tensor([[0.5, 1.1], [1.3, -0.2]], dtype=torch.float64)             # not symmetric, det < 0
    Ainv = torch.linalg.inv(A)
    m, C = torch.tensor([0.2, -0.4], dtype=torch.float64), torch.tensor([[1.0, 0.5], [0.5, 0.8]], dtype=torch.float64)
    P = torch.linalg.inv(C)
    dx = sp.Matrix([x1 - 0.2, x2 + 0.4])
    gauss2 = -(dx.T * sp.Matrix(P.tolist()) * dx)[0] / 2
    mix2 = sp.log(0.3 * sp.exp(-((x1 - 1) ** 2 + x2**2) / 0.5) + 0.7 * sp.exp(-((x1 + 0.5) ** 2 + (x2 - 0.5) ** 2) / 0.8))
    B = torch.tensor([[1.0, 0.2, 0.0], [0.0, 0.7, 0.3], [0.4, 0.0, 1.5]], dtype=torch.float64)
    Binv = torch.linalg.inv(B)
    return [
        ("tanh | standard normal (visible)", -x**2 / 2, [x], [sp.atanh(yr)], [yr],
         lambda v: -v[:, 0] ** 2 / 2, torch.atanh, torch.tensor([[0.3], [-0.6]], dtype=torch.float64)),
        ("exp | normal", -(x - mu) ** 2 / (2 * s**2), [x], [sp.log(yp)], [yp],
         lambda v: -(v[:, 0] - mu) ** 2 / (2 * s**2), torch.log, 0.2 + 3 * torch.rand(30, 1, generator=g, dtype=torch.float64)),
        ("sinh | logistic", -x - 2 * sp.log(1 + sp.exp(-x)), [x], [sp.asinh(yr)], [yr],
         lambda v: -v[:, 0] - 2 * torch.nn.functional.softplus(-v[:, 0]), torch.asinh,
         4 * torch.randn(30, 1, generator=g, dtype=torch.float64)),
        ("(exp x1, x2 exp x1) | correlated normal", gauss2, [x1, x2], [sp.log(y1p), y2 / y1p], [y1p, y2],
         lambda v: -0.5 * ((v - m) @ P * (v - m)).sum(1),
         lambda v: torch.stack([torch.log(v[:, 0]), v[:, 1] / v[:, 0]], 1),
         torch.cat([0.3 + 2.5 * torch.rand(30, 1, generator=g, dtype=torch.float64),
                    2 * torch.randn(30, 1, generator=g, dtype=torch.float64)], 1)),
        ("linear A x | mixture", mix2, [x1, x2], list(sp.Matrix(Ainv.tolist()) * sp.Matrix([y1, y2])), [y1, y2],
         lambda v: torch.logsumexp(torch.stack([math.log(0.3) - ((v[:, 0] - 1) ** 2 + v[:, 1] ** 2) / 0.5,
                                                math.log(0.7) - ((v[:, 0] + 0.5) ** 2 + (v[:, 1] - 0.5) ** 2) / 0.8]), 0),
         lambda v: v @ Ainv.T, 1.5 * torch.randn(30, 2, generator=g, dtype=torch.float64)),
        ("a coupled sine map | correlated normal", gauss2, [x1, x2],                 # J_g full and varying
         [y1 + sp.sin(y2) / 2, y2 + sp.sin(y1) / 2], [y1, y2],
         lambda v: -0.5 * ((v - m) @ P * (v - m)).sum(1),
         lambda v: torch.stack([v[:, 0] + torch.sin(v[:, 1]) / 2, v[:, 1] + torch.sin(v[:, 0]) / 2], 1),
         2 * torch.randn(30, 2, generator=g, dtype=torch.float64)),
        ("a linear map in 3-D | quartic law", -(x1**4 + x2**2 + x3**2) / 4, [x1, x2, x3],
         list(sp.Matrix(Binv.tolist()) * sp.Matrix([y1, y2, y3])), [y1, y2, y3],
         lambda v: -(v[:, 0] ** 4 + v[:, 1] ** 2 + v[:, 2] ** 2) / 4, lambda v: v @ Binv.T,
         torch.randn(20, 3, generator=g, dtype=torch.float64)),
    ]


def _numeric(exprs, ys, points):
    """Evaluate sympy expressions in ys at points (B, d) -> (B, d) float64 (real parts)."""
    f = sp.lambdify(ys, list(exprs), "numpy")
    values = f(*points.T.numpy())
    return np.stack([np.broadcast_to(np.real(np.asarray(v, dtype=complex)), (points.shape[0],)) for v in values], 1)


def q1_pushforward_terms(call):
    out = {}
    for name, log_p, xs, inverse, ys, _, _, points in q1_cases():
        got = call(log_p, xs, inverse, ys)
        if not isinstance(got, tuple) or len(got) != 2:
            out[name] = got
            continue
        try:
            out[name] = [_numeric(got[0], ys, points), _numeric(got[1], ys, points)]
        except Exception as err:                                     # noqa: BLE001 (reported as the answer's)
            out[name] = f"cannot evaluate the terms numerically ({type(err).__name__}: {err})"
    return out


# --- question 2 -----------------------------------------------------------------------------------------------
def q2_cases():
    """[(name, log_prob_x, inverse, y, (mean, cov) of Y for a Gaussian, or None)] for pushforward_log_prob, and
    [(name, log_prob, y)] for autograd_score."""
    from scoreaug_lab.data import GaussianMixture

    g = torch.Generator().manual_seed(23)
    standard = lambda v: -0.5 * (v**2).sum(1) - 0.5 * v.shape[1] * math.log(2 * math.pi)  # noqa: E731
    mu, s = -0.2, 0.6
    normal = lambda v: -(v[:, 0] - mu) ** 2 / (2 * s**2) - math.log(s * math.sqrt(2 * math.pi))  # noqa: E731
    logs = [("Y = 2X, X ~ N(0, 1) (visible)", standard, lambda v: v / 2,
             torch.tensor([[0.5], [-1.0], [2.0]], dtype=torch.float64), None),
            ("the lognormal Y = exp(X)", normal, torch.log, 0.1 + 3 * torch.rand(20, 1, generator=g, dtype=torch.float64),
             None)]
    m = torch.tensor([0.3, -0.5], dtype=torch.float64)
    C = torch.tensor([[0.8, 0.3], [0.3, 0.5]], dtype=torch.float64)
    grads = [("N(0, 4) (visible)", lambda v: scores.gaussian_log_prob(v, 0.0, [0.0], [[4.0]]),
              torch.tensor([[0.5], [-1.0], [2.0]], dtype=torch.float64))]
    theta = 1.1
    for label, A in (("a rotation", torch.tensor([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]],
                                                 dtype=torch.float64)),
                     ("a reflection with shear (det < 0)", torch.tensor([[0.4, 1.2], [1.5, -0.3]], dtype=torch.float64))):
        Ainv = torch.linalg.inv(A)
        y = 1.5 * torch.randn(20, 2, generator=g, dtype=torch.float64)
        mean, cov = A @ m, A @ C @ A.T                                                 # the law of Y = A X
        logs.append((f"Y = A X for {label}", lambda v: scores.gaussian_log_prob(v, 0.0, m, C),
                     lambda v, B=Ainv: v @ B.T, y, (mean, cov)))
        grads.append((f"the law of A X for {label}", lambda v, a=mean, c=cov: scores.gaussian_log_prob(v, 0.0, a, c), y))
    mix = GaussianMixture(torch.randn(4, 3, generator=g), 0.3 + torch.rand(4, generator=g), torch.rand(4, generator=g) + 0.1)
    grads.append(("a mixture in 3-D", lambda v: mix.log_prob(v, 0.2), torch.randn(15, 3, generator=g, dtype=torch.float64)))
    return logs, grads, (mu, s), mix


def q2_autograd(calls):
    logs, grads, _, _ = q2_cases()
    out = {}
    for name, log_prob_x, inverse, y, _ in logs:
        out[f"log_prob: {name}"] = calls["pushforward_log_prob"](log_prob_x, inverse, y.clone())
    for name, log_prob, y in grads:
        out[f"score: {name}"] = calls["autograd_score"](log_prob, y.clone())
    return out


# --- question 3 -----------------------------------------------------------------------------------------------
def q3_cases():
    """[(name, score_exprs, ys, log_prob_y, points)] with exact, shifted and growing errors, in 1-D and 2-D."""
    y1, y2, y = sp.Symbol("y1", real=True), sp.Symbol("y2", real=True), sp.Symbol("y", real=True)
    points = torch.randn(40, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    linear = lambda v: -0.5 * v[:, 0] ** 2 + 2.0 * v[:, 1]                      # noqa: E731 (score (-y1, 2))
    g = torch.Generator().manual_seed(29)
    m = torch.tensor([0.5, -1.0], dtype=torch.float64)
    C = torch.tensor([[1.0, 0.6], [0.6, 2.0]], dtype=torch.float64)
    exact = list(-sp.Matrix(torch.linalg.inv(C).tolist()) * sp.Matrix([y1 - 0.5, y2 + 1.0]))
    log_p = lambda v: scores.gaussian_log_prob(v, 0.0, m, C)                   # noqa: E731
    pts = 2 * torch.randn(60, 2, generator=g, dtype=torch.float64)
    pts1 = torch.randn(25, 1, generator=g, dtype=torch.float64)
    quartic = lambda v: -v[:, 0] ** 4 / 4                                       # noqa: E731
    return [("a constant component, exact (visible)", [-y1, sp.Integer(2)], [y1, y2], linear, points),
            ("a constant component, off by 0.25 (visible)", [-y1 + 0.25, sp.Integer(2)], [y1, y2], linear, points),
            ("a correlated Gaussian, exact", exact, [y1, y2], log_p, pts),
            ("a correlated Gaussian, off by -0.5", [exact[0], exact[1] - 0.5], [y1, y2], log_p, pts),
            ("a correlated Gaussian, off by 0.3 in both", [exact[0] + 0.3, exact[1] + 0.3], [y1, y2], log_p, pts),
            ("a correlated Gaussian, a growing error", [exact[0] + 0.05 * y1**2, exact[1]], [y1, y2], log_p, pts),
            ("one dimension, exact", [-y**3], [y], quartic, pts1),
            ("one dimension, off by 0.1 y", [-y**3 - 0.1 * y], [y], quartic, pts1)]


def q3_check(call):
    return {name: call(list(exprs), ys, log_prob, points.clone()) for name, exprs, ys, log_prob, points in q3_cases()}


PROBES = {"q1_pushforward_terms": q1_pushforward_terms, "q2_autograd": q2_autograd, "q3_check": q3_check}
