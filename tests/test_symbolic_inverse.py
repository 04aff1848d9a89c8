"""symbolic.inverse: maps with a vanishing or non-smooth derivative refused in one sentence, else derived."""
import math

import pytest
import sympy as sp
import torch

from scoreaug_lab import symbolic as S
from scoreaug_lab.scores import pushforward_score
from scoreaug_lab.symbolic.numeric import _sample_points

from support import _relative

x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
xp = sp.Symbol("x", positive=True)
x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2", real=True)


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


GAUSS2 = S.gaussian_logpdf([x1, x2])


def test_cube_in_one_coordinate_of_a_2d_map_is_refused():
    """(x1**3, x2): det J_f = 3 x1^2 vanishes on the line x1 = 0, which random check points miss; the
    DiracDelta in the derived score is caught instead of reaching the torch printer."""
    with pytest.raises(ValueError, match="restrict the domain"):
        S.derive_pushforward([x1**3, x2], [x1, x2], GAUSS2, [y1, y2])
    ok = S.derive_pushforward([x1**3, x2], [x1, x2], GAUSS2, [y1, y2],
                             domain={x1: (0, sp.oo), x2: (-sp.oo, sp.oo)}, check_points=50)
    assert ok.check_passed and S.autograd_agreement(ok, n=50) < 1e-10
