"""sympy derivations (scoreaug_lab.symbolic) against torch.func, quadrature and torch's own image ops."""
import math

import numpy as np
import scipy.integrate
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

from scoreaug_lab import symbolic as S
from scoreaug_lab.data import GaussianMixture
from scoreaug_lab.scores import (gaussian_score, linear_pushforward_score, pushforward_score,
                                 transform_pushforward_score)
from scoreaug_lab.symbolic.numeric import _sample_points
from scoreaug_lab.transforms import get_transform

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


def _relative(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


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


def test_normalising_constant_matches_closed_forms():
    """Gauss-Legendre quadrature on the real line, half-lines, a bounded interval and the plane."""
    t = sp.Symbol("t", positive=True)
    cases = [
        (S.gaussian_logpdf(x, sp.Rational(3, 10), sp.Rational(4, 5)) + sp.Rational(7, 10), x, None, math.exp(0.7)),
        (sp.log(t) - t, t, None, 1.0),                                            # Gamma(2) on (0, oo)
        (-x, x, {x: (0, sp.oo)}, 1.0),
        (x, x, {x: (-sp.oo, 2)}, math.exp(2)),
        (-x**2, x, {x: (-1, 2)}, math.sqrt(math.pi) / 2 * (math.erf(2) + math.erf(1))),
        (S.gaussian_mixture_logpdf([x1, x2], **MIX2), [x1, x2], None, 1.0),
        (S.logistic_logpdf([x1, x2], sp.Rational(1, 5), sp.Rational(7, 10)) - 1, [x1, x2], None, math.exp(-1)),
    ]
    for logpdf, xs, domain, exact in cases:
        assert S.normalising_constant(logpdf, xs, domain) == pytest.approx(exact, rel=1e-12, abs=0), logpdf


# --- EDM identities -------------------------------------------------------------------------------------

def test_edm_identities_are_proved():
    rows = S.edm_identities()
    assert len(rows) >= 5
    for row in rows:
        assert row["proved"], row
    lam = S.edm_expressions()
    assert sp.simplify(lam["lambda"] * lam["c_out"] ** 2 - 1) == 0


def test_edm_coefficients_match_diffusion_module():
    errors = S.edm_numeric_check()
    assert set(errors) == {"c_skip", "c_out", "c_in", "c_noise", "lambda"}
    assert max(errors.values()) < 1e-12


# --- noise covariance of image transforms -------------------------------------------------------------------

def _apply_to_basis(size, op):
    """The matrix of a linear image op: column k is op(e_k)."""
    basis = torch.eye(size * size, dtype=torch.float64).reshape(size * size, size, size)
    return torch.stack([op(b).reshape(-1) for b in basis], dim=1).numpy()


def _shift_right(img):
    out = torch.zeros_like(img)
    out[:, 1:] = img[:, :-1]
    return out


def _grid_sample_rotation(size, degrees, mode):
    t = math.radians(degrees)
    theta = torch.tensor([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0]], dtype=torch.float64)

    def op(img):
        grid = F.affine_grid(theta[None], (1, 1, size, size), align_corners=False)
        return F.grid_sample(img[None, None], grid, mode=mode, padding_mode="zeros", align_corners=False)[0, 0]
    return _apply_to_basis(size, op)


def test_transform_matrices_match_torch_ops():
    size = 4
    m = S.image_transform_matrices(size)
    cut = torch.ones(size, size, dtype=torch.float64)
    cut[1:3, 1:3] = 0
    oracles = {"rot90": lambda b: torch.rot90(b, 1, dims=(0, 1)), "hflip": lambda b: torch.flip(b, dims=(1,)),
               "vflip": lambda b: torch.flip(b, dims=(0,)), "translate": _shift_right, "cutout": lambda b: b * cut}
    for name, op in oracles.items():
        assert np.array_equal(np.array(m[name], dtype=np.float64), _apply_to_basis(size, op)), name
    assert np.abs(m["rotate30_bilinear"] - _grid_sample_rotation(size, 30, "bilinear")).max() < 1e-12
    assert np.array_equal(m["rotate30_nearest"], _grid_sample_rotation(size, 30, "nearest"))
    assert np.abs(S.bilinear_rotation_matrix(7, 10) - _grid_sample_rotation(7, 10, "bilinear")).max() < 1e-12


def test_noise_covariance_table():
    rows = {r["transform"]: r for r in S.noise_covariance_table(size=4, degrees=30)}
    a = sp.Symbol("a", positive=True)
    for name in ("identity", "rot90", "hflip", "vflip"):
        assert rows[name]["orthogonal"] and rows[name]["exact"] and rows[name]["rank"] == 16
        assert rows[name]["retained_variance"] == 1
    assert S.brightness_matrix(4) * S.brightness_matrix(4).T == a**2 * sp.eye(16)
    assert rows["brightness"]["retained_variance"] == a**2 and not rows["brightness"]["orthogonal"]
    for name, rank in (("cutout", 12), ("translate", 12)):
        row = rows[name]
        assert row["projection"] and not row["orthogonal"] and row["rank"] == rank
        assert row["retained_variance"] == sp.Rational(3, 4) and row["max_offdiagonal"] == 0
    bilinear = rows["rotate30_bilinear"]
    assert not bilinear["orthogonal"] and not bilinear["projection"] and not bilinear["exact"]
    T = S.bilinear_rotation_matrix(4, 30)
    C = T @ T.T
    assert np.abs(C - np.eye(16)).max() > 0.1                      # T T^T != I
    assert bilinear["retained_variance"] == pytest.approx(np.trace(C) / 16, abs=1e-12)
    assert 0.3 < bilinear["retained_variance"] < 0.45 and bilinear["max_offdiagonal"] > 0.1
    text = S.format_table(list(rows.values()))
    assert "rotate30_bilinear" in text and "a**2 * I" in text


def test_bilinear_rotation_keeps_about_44_percent_inside_the_image():
    """Away from the padding, bilinear weights (1-u, u) x (1-v, v) keep E[(1-u)^2 + u^2]^2 ~ (2/3)^2 of
    the variance of white noise."""
    row = S.covariance_row("bilinear", S.bilinear_rotation_matrix(16, 30))
    assert 0.40 < row["retained_unpadded"] < 0.48


# --- bad input -------------------------------------------------------------------------------------------

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


# --- maps whose derivative vanishes, or whose sympy form is not smooth (defect 8 of the 03 walkthrough) ---

def test_cube_on_the_real_line_is_refused_in_one_sentence():
    """x**3 on the real line: det J_f = 3 x^2 vanishes at 0 (the inverse sign(y)|y|^(1/3) has an infinite
    slope there, and sympy's derivative of it brings in DiracDelta): one ValueError sentence, no sympy
    printer error. The same for a string map, a shifted cube and a periodic zero (x + sin(x))."""
    for args, where in (((x**3, x, S.gaussian_logpdf(x), y), "x = 0"),
                        (("x**3", "x", "-x**2/2 - log(2*pi)/2", "y"), "x = 0"),
                        (((x - 1) ** 3, x, S.gaussian_logpdf(x), y), "x = 1"),
                        ((x + sp.sin(x), x, S.gaussian_logpdf(x), y), "x = -pi, pi")):
        with pytest.raises(ValueError, match="vanishes at") as info:
            S.derive_pushforward(*args)
        message = str(info.value)
        assert where in message and "restrict the domain" in message and "\n" not in message
        assert "DiracDelta" not in message and "Traceback" not in message


def test_cube_of_a_gamma_variable_is_derived_on_the_half_line():
    """Exercise 2 of notebook 03 with gamma = 3: Y = X**3, X ~ Gamma(2) on x > 0. The inverse is the
    principal root y**(1/3) (no sign/Abs), the Jacobian formula is proved, and the score is
    (2/gamma - 1)/y - (1/gamma) y**(1/gamma - 1) against torch.func and against the closed form."""
    result = S.derive_pushforward(xp**3, xp, sp.log(xp) - xp, y)
    assert result.inverse == [y ** sp.Rational(1, 3)] and result.check == "symbolic"
    assert not any(e.has(sp.DiracDelta, sp.sign, sp.Abs, sp.Heaviside, sp.Piecewise)
                   for e in result.score + result.transported + result.volume)
    assert S.autograd_agreement(result) < 1e-10
    gamma = 3
    closed_form = (2 / sp.Integer(gamma) - 1) / y - y ** (sp.Rational(1, gamma) - 1) / gamma
    assert sp.simplify(result.score[0] - closed_form) == 0
    points = _sample_points([(0.0, math.inf)], 256, seed=3)
    yv = torch.from_numpy(result.forward_numpy(points))                           # (256, 1)
    independent = pushforward_score(lambda u: 1 / u - 1, lambda u: u ** (1 / 3))(yv)
    assert _relative(result.score_torch(yv).numpy(), independent.numpy()) <= 1e-10
    # a domain given explicitly works the same as a positive symbol
    explicit = S.derive_pushforward("x**3", x, "log(x) - x", "y", domain={x: (0, sp.oo)})
    assert explicit.check == "symbolic" and S.autograd_agreement(explicit) < 1e-10
    by_name = S.derive_pushforward("x**3", "x", "log(x) - x", "y", domain={"x": (0, "oo")})   # as notebook 03
    assert by_name.domain == {x: (0.0, math.inf)} and by_name.inverse == [y ** sp.Rational(1, 3)]


@pytest.mark.parametrize("map_, match", [
    (x ** -3, "DiracDelta"),                          # the real odd root of 1/y**(1/3) jumps at y = 0
    (x * sp.Abs(x), "vanishes at x = 0"),             # a bijection whose slope 2|x| vanishes at 0
    (x + sp.Heaviside(x), "jump or a kink"),          # not differentiable at 0
])
def test_maps_that_are_not_smooth_are_refused_in_one_sentence(map_, match):
    with pytest.raises(ValueError, match=match) as info:
        S.derive_pushforward(map_, x, S.gaussian_logpdf(x), y)
    assert "\n" not in str(info.value) and "restrict the domain" in str(info.value)


def test_cube_in_one_coordinate_of_a_2d_map_is_refused():
    """(x1**3, x2): det J_f = 3 x1^2 vanishes on the line x1 = 0, which random check points miss; the
    DiracDelta in the derived score is caught instead of reaching the torch printer."""
    with pytest.raises(ValueError, match="restrict the domain"):
        S.derive_pushforward([x1**3, x2], [x1, x2], GAUSS2, [y1, y2])
    ok = S.derive_pushforward([x1**3, x2], [x1, x2], GAUSS2, [y1, y2],
                             domain={x1: (0, sp.oo), x2: (-sp.oo, sp.oo)}, check_points=50)
    assert ok.check_passed and S.autograd_agreement(ok, n=50) < 1e-10


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
