"""Assignment 3, the hidden checks (run by the grader, never sent to the sandbox or the students)."""
import math

import numpy as np
import sympy as sp
import torch

from scoreaug_lab import scores
from scoreaug_lab.course.checks import Failed, answer, close, expect, number_close
from scoreaug_lab.course.layout import cases_beside

cases = cases_beside(__file__)


def q1_pushforward_terms(record):
    for name, _, _, _, ys, torch_log_p, torch_inverse, points in cases.q1_cases():
        got = answer(record, name)
        expect(not isinstance(got, str), f"{name}: {got}")
        expect(isinstance(got, list) and len(got) == 2,
               f"{name}: return two lists (transported, volume), got {type(got).__name__}")
        want = scores.pushforward_score_terms(scores.autograd_score(torch_log_p), torch_inverse)(points)
        for part, value, truth in zip(("transported term", "volume term"), got, want):
            close(value, truth, f"{name}: the {part}", atol=1e-8, rtol=1e-7)


def q2_autograd(record):
    logs, grads, (mu, s), mix = cases.q2_cases()
    for name, _, _, y, gaussian in logs:
        if gaussian is not None:
            want = scores.gaussian_log_prob(y, 0.0, *gaussian)
        elif name.startswith("Y = 2X"):
            want = scores.gaussian_log_prob(y, 0.0, [0.0], [[4.0]])
        else:                                                         # the lognormal density
            log_y = torch.log(y[:, 0])
            want = -(log_y - mu) ** 2 / (2 * s**2) - math.log(s * math.sqrt(2 * math.pi)) - log_y
        close(answer(record, f"log_prob: {name}"), want, f"pushforward_log_prob, {name}", atol=1e-9)
    for name, log_prob, y in grads:
        if name.startswith("N(0, 4)"):
            want = -y / 4
        elif name.startswith("a mixture"):
            want = mix.score(y, 0.2)
        else:
            want = scores.autograd_score(log_prob)(y)
        close(answer(record, f"score: {name}"), want, f"autograd_score, {name}", atol=1e-9, rtol=1e-7)


def _max_abs_error(exprs, ys, log_prob, points) -> float:
    f = sp.lambdify(ys, list(exprs), "numpy")
    values = np.stack([np.broadcast_to(np.asarray(v, dtype=float), (points.shape[0],))
                       for v in f(*points.T.numpy())], 1)
    return float(np.abs(values - scores.autograd_score(log_prob)(points).numpy()).max())


def q3_check(record):
    for name, exprs, ys, log_prob, points in cases.q3_cases():
        number_close(answer(record, name), _max_abs_error(exprs, ys, log_prob, points),
                     f"the largest error, {name}", atol=1e-9)


CHECKS = {"q1_pushforward_terms": q1_pushforward_terms, "q2_autograd": q2_autograd, "q3_check": q3_check}
__all__ = ["CHECKS", "Failed"]
