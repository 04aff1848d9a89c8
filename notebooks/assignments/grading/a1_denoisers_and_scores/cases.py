"""Assignment 1, the hidden inputs and how each answer is called on them (sent into the sandbox).

Each probe gets `call`, the student's function wrapped so that the question's library twin is refused while it
runs and an exception comes back as a value (records.Raised); it returns plain data (numbers, strings, lists,
dicts, tensors) that the grader's checks.py judges in its own process. The inputs are built here, from fixed
seeds, and rebuilt by the checks from the same functions.
"""
import math

import numpy as np
import sympy as sp
import torch

from scoreaug_lab.data import GaussianMixture, ring_mixture

NAMES = ("c_skip", "c_out", "c_in", "c_noise", "lambda")
FORBIDDEN = {
    "q1_preconditioning": ["scoreaug_lab.symbolic.edm.edm_expressions", "scoreaug_lab.diffusion.edm_coefficients",
                           "scoreaug_lab.diffusion.loss_weight"],
    "q2_identities": ["scoreaug_lab.symbolic.edm.edm_identities", "scoreaug_lab.symbolic.edm.edm_numeric_check"],
    "q3_ideal_denoiser": ["scoreaug_lab.scores.ideal_denoiser", "scoreaug_lab.scores.ideal_weights",
                          "scoreaug_lab.scores.ideal_score", "scoreaug_lab.oracles.IdealDenoiser"],
    "q4_tweedie": ["scoreaug_lab.scores.denoiser_to_score"],
}


# --- question 1 -----------------------------------------------------------------------------------------------
def q1_grid():
    """64 noise levels log-uniform on [0.002, 80] and two sigma_data values."""
    g = torch.Generator().manual_seed(2024)
    sig = torch.exp(torch.empty(64, dtype=torch.float64).uniform_(math.log(0.002), math.log(80.0), generator=g))
    return sig, (0.5, 0.2 + 1.3 * torch.rand(1, generator=g, dtype=torch.float64).item())


def _numeric(expr, symbols, points, *values):
    f = sp.lambdify(symbols, sp.sympify(expr), "numpy")
    return np.broadcast_to(np.asarray(f(*values), dtype=float), points.shape).copy()


def q1_preconditioning(call):
    s, d = sp.symbols("s_hidden d_hidden", positive=True)          # other symbols than the notebook's
    coefficients = call(s, d)
    if not isinstance(coefficients, dict):
        return {"returned": coefficients}
    sig, sds = q1_grid()
    out = {"keys": sorted(str(k) for k in coefficients)}
    for name in NAMES:
        if name not in coefficients:
            continue
        try:
            expr = sp.sympify(coefficients[name])
            out[f"symbols/{name}"] = sorted(str(x) for x in expr.free_symbols)
            out[f"values/{name}"] = [_numeric(expr, (s, d), sig.numpy(), sig.numpy(), sd) for sd in sds]
        except Exception as err:                                     # noqa: BLE001 (reported as the answer's)
            out[f"values/{name}"] = f"cannot evaluate it numerically ({type(err).__name__}: {err})"
    return out


# --- question 2 -----------------------------------------------------------------------------------------------
def q2_edm_forms(s, d):
    """EDM's coefficients as the notebook writes them, and the same written so that nothing cancels by itself."""
    total = s**2 + d**2
    plain = {"c_skip": d**2 / total, "c_out": s * d / sp.sqrt(total), "c_in": 1 / sp.sqrt(total),
             "c_noise": sp.log(s) / 4, "lambda": total / (s * d) ** 2}
    rewritten = {"c_skip": 1 - s**2 / total, "c_out": sp.sqrt(s**2 * d**2 / (s**2 + d**2)),
                 "c_in": sp.sqrt(1 / (s**2 + d**2)), "c_noise": sp.log(s**2) / 8,
                 "lambda": 1 / s**2 + 1 / d**2}
    return {"plain": plain, "rewritten": rewritten}


def q2_fakes(a, b):
    """Three coefficient dicts that satisfy neither identity, and two points to evaluate the differences at."""
    rng = np.random.default_rng(7)
    fakes = []
    for _ in range(3):
        k = [sp.Rational(int(v), 7) for v in rng.integers(2, 20, size=3)]
        fakes.append({"c_skip": k[0] * a, "c_out": k[1] * a + b, "c_in": k[2] / (a + b), "c_noise": sp.log(a),
                      "lambda": (a + k[0]) / b})
    return fakes, ({a: 0.3, b: 1.7}, {a: 2.5, b: 0.4})


def q2_identities(call):
    s, d = sp.symbols("sigma sigma_data", positive=True)
    out = {}
    for form, c in q2_edm_forms(s, d).items():
        proof = call(c, s, d)
        out[f"edm/{form}"] = ({str(k): str(v) for k, v in proof.items()} if isinstance(proof, dict) else proof)
    a, b = sp.symbols("a_hidden b_hidden", positive=True)
    fakes, points = q2_fakes(a, b)
    for trial, c in enumerate(fakes):
        got = call(c, a, b)
        if not isinstance(got, dict):
            out[f"fake{trial}"] = got
            continue
        values = {}
        for name in ("loss_weight", "unit_input"):
            try:
                values[name] = [complex(sp.sympify(got[name]).subs(p)) for p in points]
            except Exception as err:                                 # noqa: BLE001
                values[name] = f"cannot evaluate it ({type(err).__name__}: {err})"
        out[f"fake{trial}"] = {"keys": sorted(str(k) for k in got), **values}
    return out


# --- question 3 -----------------------------------------------------------------------------------------------
def q3_inputs():
    """[(name, y, sigma, train)]: three sizes and dimensions at three noise levels, one noise level per row,
    float32 inputs, and noisy points far from every training point at a tiny noise level (where exp underflows)."""
    g = torch.Generator().manual_seed(31)
    cases = []
    for n, d, b in ((7, 1, 5), (23, 3, 11), (50, 6, 9), (4, 2, 1)):
        train = 0.7 * torch.randn(n, d, generator=g, dtype=torch.float64)
        y = train[torch.randint(0, n, (b,), generator=g)] + 0.4 * torch.randn(b, d, generator=g, dtype=torch.float64)
        for s in (0.05, 0.3, 1.7):
            cases.append((f"N={n}, d={d}, sigma={s}", y, s, train))
        per_row = torch.exp(torch.randn(b, generator=g, dtype=torch.float64) - 1.0)
        cases.append((f"N={n}, d={d}, one sigma per row", y, per_row, train))
    train = torch.randn(9, 2, generator=g, dtype=torch.float64)
    cases.append(("float32 inputs", (train[:6] + 0.3).float(), 0.5, train.float()))
    far = 6.0 + torch.randn(5, 2, generator=g, dtype=torch.float64)
    cases.append(("points far from the data at sigma = 0.01", far, 0.01, train))
    cases.append(("small per-row sigma far from the data", far, torch.full((5,), 0.004, dtype=torch.float64), train))
    return cases


def q3_ideal_denoiser(call):
    return {name: call(y.clone(), s.clone() if torch.is_tensor(s) else s, train.clone())
            for name, y, s, train in q3_inputs()}


# --- question 4 -----------------------------------------------------------------------------------------------
def _opaque(denoiser):
    """The denoiser as a plain function of (y, sigma): nothing to reach its mixture through."""
    def call_denoiser(y, sigma):
        return denoiser(y, sigma)
    return call_denoiser


def q4_mixtures():
    g = torch.Generator().manual_seed(11)
    mixtures = [("the 8-mode ring", ring_mixture())]
    for d, k in ((2, 3), (3, 5), (1, 2)):
        mixtures.append((f"a {k}-component mixture in {d}-D",
                         GaussianMixture(torch.randn(k, d, generator=g), 0.1 + torch.rand(k, generator=g),
                                         0.2 + torch.rand(k, generator=g))))
    points = [1.5 * torch.randn(13, m.dim, generator=g, dtype=torch.float64) for _, m in mixtures]
    per_row = torch.exp(torch.randn(13, generator=g, dtype=torch.float64) - 1.0)
    return mixtures, points, per_row


def q4_gaussian():
    g = torch.Generator().manual_seed(12)
    A = torch.randn(3, 3, generator=g, dtype=torch.float64)
    cov, mean = A @ A.T + 0.1 * torch.eye(3, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)
    return mean, cov, torch.randn(6, 3, generator=g, dtype=torch.float64)


def q4_tweedie(call):
    from scoreaug_lab import scores

    mixtures, points, per_row = q4_mixtures()
    out = {}
    for (name, mixture), y in zip(mixtures, points):
        for s in (0.03, 0.2, 0.4, 2.5):
            out[f"{name}, sigma={s}"] = call(_opaque(mixture.denoiser), y.clone(), s)
        out[f"{name}, one sigma per row"] = call(_opaque(mixture.denoiser), y.clone(), per_row.clone())
    mean, cov, y = q4_gaussian()
    out["a correlated Gaussian, sigma=0.7"] = call(_opaque(lambda v, s: scores.gaussian_denoiser(v, s, mean, cov)),
                                                   y.clone(), 0.7)
    return out


PROBES = {"q1_preconditioning": q1_preconditioning, "q2_identities": q2_identities,
          "q3_ideal_denoiser": q3_ideal_denoiser, "q4_tweedie": q4_tweedie}
