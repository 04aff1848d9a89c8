"""transforms.point_warps: closed-form Jacobians, the tanh round trip, codes zero only at the identity."""
import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scoreaug_lab.transforms import get_transform

from support import _points


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
