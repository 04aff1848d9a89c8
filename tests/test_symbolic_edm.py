"""symbolic.edm: EDM's preconditioning identities proved with sympy, coefficients against diffusion."""
import sympy as sp

from scoreaug_lab import symbolic as S


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
