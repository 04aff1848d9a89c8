"""EDM's preconditioning (Karras et al. 2022) proved with sympy: the coefficients c_skip, c_out, c_in,
c_noise and the loss weight lambda as expressions of (sigma, sigma_data), the identities that define
them (`edm_identities`), and a numeric comparison with scoreaug_lab.diffusion (`edm_numeric_check`)."""
from __future__ import annotations

import numpy as np
import sympy as sp
import torch


def edm_expressions(sigma=None, sigma_data=None) -> dict:
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
    c = edm_expressions()
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
    from ..diffusion import edm_coefficients as torch_coefficients, loss_weight

    sigmas = torch.logspace(-3, 2, 101, dtype=torch.float64) if sigmas is None else torch.as_tensor(
        sigmas, dtype=torch.float64)
    c = edm_expressions()
    values = dict(zip(("c_skip", "c_out", "c_in", "c_noise"), torch_coefficients(sigmas, sigma_data)))
    values["lambda"] = loss_weight(sigmas, sigma_data)
    out = {}
    for name, got in values.items():
        expr = c[name].subs(c["sigma_data"], sp.Float(sigma_data))
        ref = sp.lambdify(c["sigma"], expr, modules="numpy")(sigmas.numpy())
        out[name] = float(np.max(np.abs(np.broadcast_to(ref, sigmas.shape) - got.numpy())))
    return out

