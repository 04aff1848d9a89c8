"""symbolic.pushforward: sympy's scores against torch.func, quadrature and finite differences; bad input."""
import math

import numpy as np
import pytest
import scipy.integrate
import sympy as sp
import torch

from scoreaug_lab import symbolic as S
from scoreaug_lab.data import GaussianMixture
from scoreaug_lab.scores import gaussian_score, linear_pushforward_score, pushforward_score, transform_pushforward_score
from scoreaug_lab.symbolic.numeric import _sample_points
from scoreaug_lab.transforms import get_transform

from support import _relative

x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
xp = sp.Symbol("x", positive=True)
x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2", real=True)
half, quarter = sp.Rational(1, 2), sp.Rational(1, 4)

MIX1 = dict(means=[-1, 1], stds=[half, sp.Rational(1, 3)], weights=[1, 2])
MIX2 = dict(means=[(0, 1), (1, 0), (-1, -1)], stds=[half, half, sp.Rational(2, 5)], weights=[1, 1, 2])


def _mixture_torch(spec):
    means = torch.tensor([[float(v) for v in (m if isinstance(m, tuple) else (m,))] for m in spec["means"]],
                         dtype=torch.float64)
    return GaussianMixture(means, [float(s) for s in spec["stds"]], [float(w) for w in spec["weights"]])


def _logistic_score(v, loc=0.0, scale=1.0):
    return -torch.tanh((v - loc) / (2 * scale)) / scale


def _cubic_root(s, b):
    """The real root r of r + b r^3 = s (b > 0), in a stable closed form: 2/sqrt(3b) sinh(asinh(1.5 s sqrt(3b))/3)."""
    return 2 / math.sqrt(3 * b) * torch.sinh(torch.asinh(1.5 * s * math.sqrt(3 * b)) / 3)


def _radial_inverse(v, b=0.25):
    s = v.norm(dim=1, keepdim=True)
    return v * _cubic_root(s, b) / s


A_LIN = [[2.0, 1.0], [1.0, -1.0]]

# name -> (sympy map, x symbols, sympy base log-density, y symbols, options,
#          torch score of y from the formula with an independently written torch inverse and base score)
MAPS = {
    "tanh | gaussian": (
        sp.tanh(x), x, S.gaussian_logpdf(x, sp.Rational(3, 10), sp.Rational(4, 5)), y, {},
        lambda v: pushforward_score(lambda u: gaussian_score(u, 0.0, [0.3], 0.64), torch.atanh)(v)),
    "x**(3/2) on x > 0 | gamma(2)": (
        xp ** sp.Rational(3, 2), xp, sp.log(xp) - xp, y, {},
        lambda v: pushforward_score(lambda u: 1 / u - 1, lambda u: u ** (2 / 3))(v)),
    "exp | logistic": (
        sp.exp(x), x, S.logistic_logpdf(x, sp.Rational(1, 5), sp.Rational(7, 10)), y, {},
        lambda v: pushforward_score(lambda u: _logistic_score(u, 0.2, 0.7), torch.log)(v)),
    "sinh | gaussian mixture": (
        sp.sinh(x), x, S.gaussian_mixture_logpdf(x, **MIX1), y, {},
        lambda v: pushforward_score(_mixture_torch(MIX1).score, torch.asinh)(v)),
    "x + x**3/4 | logistic": (
        x + x**3 / 4, x, S.logistic_logpdf(x), y, {},
        lambda v: pushforward_score(_logistic_score, lambda u: _cubic_root(u, 0.25))(v)),
    "quadratic shear (x1, x2 + x1**2/2) | gaussian mixture": (
        [x1, x2 + half * x1**2], [x1, x2], S.gaussian_mixture_logpdf([x1, x2], **MIX2), [y1, y2], {},
        lambda v: transform_pushforward_score(_mixture_torch(MIX2).score, get_transform("quadratic_shear"), [0.5])(v)),
    "radial r -> r + r**3/4 | gaussian": (
        [x1 * (1 + quarter * (x1**2 + x2**2)), x2 * (1 + quarter * (x1**2 + x2**2))], [x1, x2],
        S.gaussian_logpdf([x1, x2], [half, 0], [1, half]), [y1, y2], {},
        lambda v: pushforward_score(lambda u: gaussian_score(u, 0.0, [0.5, 0.0], torch.diag(torch.tensor([1.0, 0.25]))),
                                    _radial_inverse)(v)),
    "coordinate tanh(0.8 x) / 0.8 | logistic": (
        [sp.tanh(sp.Rational(4, 5) * x1) * sp.Rational(5, 4), sp.tanh(sp.Rational(4, 5) * x2) * sp.Rational(5, 4)],
        [x1, x2], S.logistic_logpdf([x1, x2]), [y1, y2], {},
        lambda v: transform_pushforward_score(_logistic_score, get_transform("tanh"), [0.8])(v)),
    "linear [[2, 1], [1, -1]] | gaussian mixture": (
        [2 * x1 + x2, x1 - x2], [x1, x2], S.gaussian_mixture_logpdf([x1, x2], **MIX2), [y1, y2], {},
        lambda v: linear_pushforward_score(_mixture_torch(MIX2).score, torch.tensor(A_LIN))(v)),
}

_CACHE = {}


def derived(name):
    if name not in _CACHE:
        f, xs, base, ys, options, _ = MAPS[name]
        _CACHE[name] = S.derive_pushforward(f, xs, base, ys, **options)
    return _CACHE[name]


@pytest.mark.parametrize("name", list(MAPS))
def test_sympy_score_matches_torch_func(name):
    """>= 200 random points f(x), x in the domain, float64: sympy's score vs torch.func's Jacobian formula."""
    result = derived(name)
    assert result.check_passed, result.check_note
    points = _sample_points(list(result.domain.values()), 256, seed=7)
    yv = torch.from_numpy(result.forward_numpy(points))
    torch_score = MAPS[name][5](yv if yv.ndim == 2 else yv[:, None])
    err_torch = _relative(result.score_torch(yv).numpy(), torch_score.numpy())
    err_numpy = _relative(result.score_numpy(yv.numpy()), torch_score.numpy())
    print(f"{name}: route={result.inverse_route} check={result.check} max error torch {err_torch:.2e} "
          f"numpy {err_numpy:.2e}")
    assert err_torch <= 1e-8 and err_numpy <= 1e-8
    # the two terms of the formula add up to the score
    transported, volume = result.terms_numpy(yv.numpy())
    assert _relative(transported + volume, result.score_numpy(yv.numpy())) <= 1e-8


def test_routes_and_checks_are_reported():
    assert derived("tanh | gaussian").inverse_route == "closed form"
    assert derived("tanh | gaussian").inverse == [sp.atanh(y)]
    assert derived("tanh | gaussian").check == "symbolic"
    assert derived("x + x**3/4 | logistic").inverse_route == "closed form (sympy.solve)"
    radial = derived("radial r -> r + r**3/4 | gaussian")
    assert radial.inverse_route == "numeric (Newton)" and radial.check == "numeric"
    assert radial.variables == [x1, x2] and radial.check_error < 1e-7
    shear = derived("quadratic shear (x1, x2 + x1**2/2) | gaussian mixture")
    assert shear.inverse == [y1, y2 - y1**2 / 2] and all(v == 0 for v in shear.volume)
    assert "Jacobian-formula check" in str(shear)


def test_symbolic_score_and_autograd_of_its_own_inverse_agree():
    assert S.autograd_agreement(derived("tanh | gaussian")) < 1e-10


# --- 1-D: a finite-difference derivative of the log of a numerically normalised density ------------------

ONE_D = {  # name -> (forward f, derivative f', base density p_X, x grid), all written in numpy by hand
    "tanh | gaussian": (np.tanh, lambda u: 1 - np.tanh(u) ** 2,
                        lambda u: np.exp(-(u - 0.3) ** 2 / (2 * 0.64)) / math.sqrt(2 * math.pi * 0.64),
                        np.linspace(-6, 6, 120001)),
    "exp | logistic": (np.exp, np.exp, lambda u: 1 / (4 * 0.7 * np.cosh((u - 0.2) / 1.4) ** 2),
                       np.linspace(-30, 30, 400001)),
    "sinh | gaussian mixture": (np.sinh, np.cosh,
                                lambda u: (np.exp(-(u + 1) ** 2 / 0.5) / math.sqrt(0.5 * math.pi)
                                           + 2 * np.exp(-(u - 1) ** 2 / (2 / 9)) / math.sqrt(2 * math.pi / 9)) / 3,
                                np.linspace(-6, 6, 120001)),
    "x**(3/2) on x > 0 | gamma(2)": (lambda u: u**1.5, lambda u: 1.5 * u**0.5, lambda u: u * np.exp(-u),
                                     np.linspace(1e-9, 60, 600001)),
}


@pytest.mark.parametrize("name", list(ONE_D))
def test_1d_score_is_derivative_of_log_of_normalised_density(name):
    forward, derivative, density, xs = ONE_D[name]
    ys = forward(xs)
    q = density(xs) / derivative(xs)                       # p_Y at the grid's images (change of variables)
    z = scipy.integrate.trapezoid(q, ys)                 # scipy: numpy 1 has no trapezoid
    assert abs(z - 1) < 1e-5                                # the density is normalised (quadrature)
    log_q = np.log(q / z)
    fd = (log_q[2:] - log_q[:-2]) / (ys[2:] - ys[:-2])      # d log p_Y / dy by central differences
    # the bulk of the density, away from x = 0 where x**(3/2) has an infinite slope of its inverse
    mid, keep = ys[1:-1], (q[1:-1] > 1e-6 * q.max()) & (np.abs(xs[1:-1]) > 1e-2)
    result = derived(name)
    assert _relative(result.score_numpy(mid[keep]), fd[keep]) < 1e-4
    assert np.max(np.abs(result.log_density_numpy(mid[keep]) - log_q[1:-1][keep])) < 1e-4


# --- bad input --------------------------------------------------------------------------------------------

GAUSS2 = S.gaussian_logpdf([x1, x2])


@pytest.mark.parametrize("args,kwargs,match", [
    (([x1, x2, x1 + x2], [x1, x2], GAUSS2, [y1, y2]), {}, "3x2, not square"),
    ((x**2, x, S.gaussian_logpdf(x), y), {}, "not invertible on its stated domain"),
    ((sp.cosh(x), x, S.gaussian_logpdf(x), y), {}, "not invertible on its stated domain"),
    (([x1**2, x2], [x1, x2], GAUSS2, [y1, y2]), {}, "not invertible on its stated domain"),
    (([x1**2 - x2**2, 2 * x1 * x2], [x1, x2], GAUSS2, [y1, y2]), {}, "invertible on its stated domain"),
    ((sp.tanh(x), x, sp.Integer(0), y), {}, "not normalisable"),
    ((sp.tanh(x), x, -x, y), {}, "not normalisable"),
    ((sp.tanh(x), x, -sp.log(1 + x**2) / 2, y), {}, "not normalisable"),
    (([x1, x2], [x1, x2], S.gaussian_logpdf(x1), [y1, y2]), {}, "not normalisable"),
    ((sp.Symbol("a") * x, x, S.gaussian_logpdf(x), y), {}, "need values"),
    ((sp.tanh(x), x, S.gaussian_logpdf(x), y), {"inverse": [sp.asinh(y)]}, "given inverse"),
    ((sp.tanh(x), x, S.gaussian_logpdf(x), [y1, y2]), {}, "2 y symbols"),
])
def test_bad_input_raises_a_named_value_error(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        S.derive_pushforward(*args, **kwargs)


def test_domain_makes_a_map_invertible_and_strings_parse():
    result = S.derive_pushforward("x**2", x, "log(x) - x", "y", domain={x: (0, sp.oo)})
    assert result.check == "symbolic" and sp.simplify(result.score[0] + 1 / (2 * sp.sqrt(y))) == 0
    assert S.parse_map("(x1, x2 + x1**2)", [x1, x2]) == [x1, x2 + x1**2]
    with pytest.raises(ValueError, match="could not parse"):
        S.parse_map("tanh(", [x])


def test_any_other_sympy_failure_is_one_value_error(monkeypatch):
    """An exception of sympy's own (here a printer error, as in the original DiracDelta crash) reaches
    the caller as a ValueError with one sentence, the original chained for debugging."""
    from sympy.printing.codeprinter import PrintMethodNotImplementedError

    from scoreaug_lab.symbolic import pushforward as module

    def broken(*args, **kwargs):
        raise PrintMethodNotImplementedError("Unsupported by <class 'TorchPrinter'>: DiracDelta\nmore")

    monkeypatch.setattr(module, "_function", broken)
    with pytest.raises(ValueError, match=r"sympy could not derive this push-forward \(PrintMethodNotImplementedError") as info:
        S.derive_pushforward(sp.tanh(x), x, S.gaussian_logpdf(x), y)
    assert "\n" not in str(info.value)
    assert isinstance(info.value.__cause__, PrintMethodNotImplementedError)
