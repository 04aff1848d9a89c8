"""transforms.points (every point transform): orthogonality, inverses, codes, finite-difference Jacobians."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scoreaug_lab.transforms import POINT_TRANSFORMS, get_transform

from support import _points

NAMES = sorted(POINT_TRANSFORMS)
ORTHOGONAL = [n for n in NAMES if POINT_TRANSFORMS[n].orthogonal]


def _params(t, n=256, seed=0, dtype=torch.float64):
    return t.sample_params(n, torch.Generator().manual_seed(seed)).to(dtype)


def test_flags_are_as_documented():
    assert set(ORTHOGONAL) == {"rotate", "rot90", "flip", "reflect", "translate"}
    assert not POINT_TRANSFORMS["tanh"].linear and not POINT_TRANSFORMS["quadratic_shear"].affine
    assert POINT_TRANSFORMS["scale"].linear and not POINT_TRANSFORMS["scale"].orthogonal
    assert all(POINT_TRANSFORMS[n].invertible for n in NAMES)


@pytest.mark.parametrize("name", ORTHOGONAL)
def test_orthogonal_jacobian_keeps_white_noise_exactly(name):
    """J J^T = I at every point: T(x + sigma n) - T(x) = J sigma n ~ N(0, sigma^2 I)."""
    t = get_transform(name)
    x, p = _points(), _params(t)
    jac = t.jacobian(x, p)
    eye = torch.eye(2, dtype=torch.float64).expand_as(jac)
    assert (jac @ jac.transpose(1, 2) - eye).abs().max() < 1e-12
    n = torch.randn_like(x)
    assert (t.apply(x + 0.5 * n, p) - t.apply(x, p) - 0.5 * (jac @ n[..., None])[..., 0]).abs().max() < 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_inverse_undoes_apply(name):
    t = get_transform(name)
    x, p = _points() * 0.5, _params(t)
    assert (t.inverse(t.apply(x, p), p) - x).abs().max() < 1e-9


@pytest.mark.parametrize("name", NAMES)
def test_identity_params_give_identity_and_zero_omega(name):
    t = get_transform(name)
    x = _points()
    ident = t.identity_params(x.shape[0]).double()
    assert torch.equal(t.apply(x, ident), x)
    assert torch.equal(t.encode(ident), torch.zeros(x.shape[0], t.omega_dim, dtype=torch.float64))


@pytest.mark.parametrize("name", NAMES)
def test_jacobian_matches_finite_differences(name):
    t = get_transform(name)
    x, p = _points(16), _params(t, 16)
    jac = t.jacobian(x, p)
    eps = 1e-6
    for j in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[j] = eps
        fd = (t.apply(x + e, p) - t.apply(x - e, p)) / (2 * eps)
        assert (jac[:, :, j] - fd).abs().max() < 1e-6


def test_rot90_is_exact_quarter_turns():
    x = _points(4)
    for k in range(4):
        out = get_transform("rot90").apply(x, torch.full((4, 1), float(k), dtype=torch.float64))
        ref = x
        for _ in range(k):
            ref = torch.stack([-ref[:, 1], ref[:, 0]], dim=1)
        assert torch.equal(out, ref)


@settings(max_examples=60, deadline=None)
@given(angle=st.floats(-10, 10), x1=st.floats(-5, 5), x2=st.floats(-5, 5))
def test_rotation_preserves_norm_hypothesis(angle, x1, x2):
    x = torch.tensor([[x1, x2]], dtype=torch.float64)
    y = get_transform("rotate").apply(x, torch.tensor([[angle]], dtype=torch.float64))
    assert abs(y.norm() - x.norm()) < 1e-9
