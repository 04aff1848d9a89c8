"""symbolic.densities: normalising constants by quadrature against closed forms."""
import math

import pytest
import sympy as sp

from scoreaug_lab import symbolic as S

x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2", real=True)
half, quarter = sp.Rational(1, 2), sp.Rational(1, 4)

MIX2 = dict(means=[(0, 1), (1, 0), (-1, -1)], stds=[half, half, sp.Rational(2, 5)], weights=[1, 1, 2])


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
