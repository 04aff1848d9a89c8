"""The point transforms: exact orthogonality, inverses, omega codes, Jacobians, bad input."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scoreaug_lab.transforms import POINT_TRANSFORMS, TransformSampler, get_transform, parse_transforms

NAMES = sorted(POINT_TRANSFORMS)
ORTHOGONAL = [n for n in NAMES if POINT_TRANSFORMS[n].orthogonal]


def _params(t, n=256, seed=0, dtype=torch.float64):
    return t.sample_params(n, torch.Generator().manual_seed(seed)).to(dtype)


def _points(n=256, seed=1):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


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


def test_closed_form_jacobians():
    x = _points(8)
    a = torch.full((8, 1), 0.3, dtype=torch.float64)
    jac = get_transform("quadratic_shear").jacobian(x, a)
    assert torch.allclose(jac[:, 1, 0], 2 * 0.3 * x[:, 0], atol=1e-12)
    assert torch.allclose(torch.linalg.det(jac), torch.ones(8, dtype=torch.float64), atol=1e-12)
    k = torch.full((8, 1), 0.7, dtype=torch.float64)
    jac = get_transform("tanh").jacobian(x, k)
    assert torch.allclose(torch.diagonal(jac, dim1=1, dim2=2), 1 - torch.tanh(0.7 * x) ** 2, atol=1e-12)
    logdet = get_transform("scale").log_abs_det_jacobian(x, torch.full((8, 1), 0.2, dtype=torch.float64))
    assert torch.allclose(logdet, torch.full((8,), 0.4, dtype=torch.float64), atol=1e-12)


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


@settings(max_examples=60, deadline=None)
@given(k=st.floats(0, 3), x1=st.floats(-3, 3), x2=st.floats(-3, 3))
def test_tanh_roundtrip_hypothesis(k, x1, x2):
    t = get_transform("tanh")
    x = torch.tensor([[x1, x2]], dtype=torch.float64)
    p = torch.tensor([[k]], dtype=torch.float64)
    y = t.apply(x, p)
    if (k * y.abs() < 1 - 1e-12).all() and k * max(abs(x1), abs(x2)) < 15:
        assert (t.inverse(y, p) - x).abs().max() < 1e-6 * (1 + math.cosh(k * max(abs(x1), abs(x2))) ** 2)


@settings(max_examples=40, deadline=None)
@given(a=st.floats(-3, 3), s=st.floats(-2, 2))
def test_encode_is_zero_only_at_identity_hypothesis(a, s):
    for name, p in (("quadratic_shear", a), ("shear", s), ("scale", a)):
        t = get_transform(name)
        omega = t.encode(torch.tensor([[p]], dtype=torch.float64))
        assert (omega.abs().sum() == 0) == (p == 0)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown points transform 'spin'"):
        get_transform("spin")
    t = get_transform("rotate")
    with pytest.raises(ValueError, match=r"params must have shape \(B, 1\)"):
        t.apply(torch.zeros(3, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="params hold 2 rows"):
        t.apply(torch.zeros(3, 2), torch.zeros(2, 1))
    with pytest.raises(ValueError, match="NaN"):
        t.apply(torch.tensor([[float("nan"), 0.0]]), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="NaN"):
        t.apply(torch.zeros(1, 2), torch.tensor([[float("nan")]]))
    with pytest.raises(ValueError, match="2-D points"):
        t.apply(torch.zeros(3, 3), torch.zeros(3, 1))
    with pytest.raises(ValueError, match="inverse does not exist"):
        get_transform("tanh").inverse(torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0]]))
    with pytest.raises(ValueError, match="integer"):
        get_transform("rot90").apply(torch.zeros(1, 2), torch.tensor([[1.5]]))
    with pytest.raises(ValueError, match="key=value"):
        parse_transforms("scale:0.3")
    with pytest.raises(ValueError, match="bad options"):
        parse_transforms("scale:nonsense=1")
    with pytest.raises(ValueError, match="probability"):
        TransformSampler([t], p=1.5)


def test_spec_parsing():
    ts = parse_transforms("rot90, flip,scale:max_log=0.25")
    assert [t.name for t in ts] == ["rot90", "flip", "scale"] and ts[2].max_log == 0.25


def test_sampler_draws_one_transform_per_sample_and_codes_it():
    sampler = TransformSampler(parse_transforms("rot90,scale,translate"), p=0.8)
    g = torch.Generator().manual_seed(0)
    draw = sampler.draw(20_000, g)
    frac_identity = (draw.choice == -1).float().mean().item()
    assert abs(frac_identity - 0.2) < 0.02
    counts = torch.bincount(draw.choice[draw.choice >= 0], minlength=3).float() / 20_000
    assert (counts - 0.8 / 3).abs().max() < 0.02
    x = _points(20_000).float()
    y = sampler.apply(x, draw)
    omega = sampler.encode(draw)
    assert omega.shape == (20_000, 3 + 1 + 2)
    ident = draw.choice == -1
    assert torch.equal(y[ident], x[ident]) and (omega[ident] == 0).all()
    # each sample's omega lives in its own transform's slot only
    for k, sl in enumerate(sampler.slots):
        others = (draw.choice != k)
        assert (omega[others][:, sl] == 0).all()
    assert torch.allclose(sampler.inverse(y, draw), x, atol=1e-5)
