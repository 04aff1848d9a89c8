"""Assignment 1, the hidden checks (run by the grader, never sent to the sandbox or the students).

Each check judges one question's record (what cases.py's probe brought back) against the library's oracles,
imported here, in the grader's process; it raises checks.Failed with a message for the student.
"""
import sympy as sp
import torch

from scoreaug_lab import diffusion, scores
from scoreaug_lab.course.checks import Failed, answer, close, expect
from scoreaug_lab.course.layout import cases_beside

cases = cases_beside(__file__)


def q1_preconditioning(record):
    expect(isinstance(record, dict) and "keys" in record,
           f"edm_preconditioning must return a dict of the five coefficients: {answer(record, 'returned')!r}"
           if isinstance(record, dict) and "returned" in record else "edm_preconditioning returned no dict")
    keys = answer(record, "keys", "the coefficient names")
    expect(sorted(keys) == sorted(cases.NAMES), f"expected the five coefficients {list(cases.NAMES)}, got {keys}")
    sig, sds = cases.q1_grid()
    for name in cases.NAMES:
        symbols = answer(record, f"symbols/{name}", name)
        expect(set(symbols) <= {"s_hidden", "d_hidden"},
               f"{name} must be built from the arguments sigma and sigma_data, not from {sorted(symbols)}")
        values = answer(record, f"values/{name}", name)
        expect(not isinstance(values, str), f"{name}: {values}")
        for sd, got in zip(sds, values):
            c_skip, c_out, c_in, c_noise = diffusion.edm_coefficients(sig, sd)
            want = {"c_skip": c_skip, "c_out": c_out, "c_in": c_in, "c_noise": c_noise,
                    "lambda": diffusion.loss_weight(sig, sd)}[name]
            close(got, want, f"{name} at sigma_data = {sd:.3f} (sigma from 0.002 to 80)", atol=1e-12, rtol=1e-9)


def _difference(name, c, point):
    a, b = sorted(point, key=str)
    true = {"loss_weight": c["lambda"] * c["c_out"] ** 2 - 1, "unit_input": c["c_in"] ** 2 * (a**2 + b**2) - 1}
    return complex(true[name].subs(point))


def q2_identities(record):
    for form, what in (("plain", "EDM's coefficients"), ("rewritten", "EDM's coefficients written another way")):
        proof = answer(record, f"edm/{form}", what)
        expect(isinstance(proof, dict) and sorted(proof) == ["loss_weight", "unit_input"],
               f"{what}: expected a dict with the two differences loss_weight and unit_input, got {proof!r}")
        for name, text in proof.items():
            expect(text == "0", f"{what}: {name} must simplify to 0, your function returns {text} "
                                "(simplify the difference before returning it)")
    a, b = sp.symbols("a_hidden b_hidden", positive=True)
    fakes, points = cases.q2_fakes(a, b)
    for trial, c in enumerate(fakes):
        got = answer(record, f"fake{trial}", f"coefficients that break the identities (trial {trial})")
        expect(isinstance(got, dict) and got.get("keys") == ["loss_weight", "unit_input"],
               "expected a dict with the two differences loss_weight and unit_input")
        for name in ("loss_weight", "unit_input"):
            values = got[name]
            expect(isinstance(values, list), f"{name} for coefficients that break it: {values}")
            for value, point in zip(values, points):
                want = _difference(name, c, point)
                expect(isinstance(value, complex) and abs(value - want) < 1e-9,
                       f"{name} is not the difference of the identity for coefficients that do not satisfy it "
                       f"(at a = {point[a]}, b = {point[b]}: {value} instead of {want.real:.6g})")


def q3_ideal_denoiser(record):
    for name, y, s, train in cases.q3_inputs():
        want = scores.ideal_denoiser(y.double(), s, train.double())
        got = answer(record, name)
        close(got, want, f"the posterior mean ({name})", atol=1e-8)
        expect(got.dtype == torch.float64, f"{name}: compute in float64 (got {got.dtype})")


def q4_tweedie(record):
    mixtures, points, per_row = cases.q4_mixtures()
    for (name, mixture), y in zip(mixtures, points):
        for s in (0.03, 0.2, 0.4, 2.5):
            close(answer(record, f"{name}, sigma={s}"), mixture.score(y, s),
                  f"{name} at sigma = {s}: the score", atol=1e-8, rtol=1e-6)
            if s == 0.2:
                autograd = scores.autograd_score(lambda v, m=mixture: m.log_prob(v, 0.2))(y)
                close(answer(record, f"{name}, sigma={s}"), autograd, f"{name}: the gradient of log p_sigma",
                      atol=1e-8, rtol=1e-6)
        close(answer(record, f"{name}, one sigma per row"), mixture.score(y, per_row),
              f"{name}: one noise level per row of y", atol=1e-8, rtol=1e-6)
    mean, cov, y = cases.q4_gaussian()
    close(answer(record, "a correlated Gaussian, sigma=0.7"), scores.gaussian_score(y, 0.7, mean, cov),
          "a correlated Gaussian", atol=1e-8, rtol=1e-6)


CHECKS = {"q1_preconditioning": q1_preconditioning, "q2_identities": q2_identities,
          "q3_ideal_denoiser": q3_ideal_denoiser, "q4_tweedie": q4_tweedie}
__all__ = ["CHECKS", "Failed"]
