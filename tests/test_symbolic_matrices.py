"""symbolic.matrices: hand-written transform matrices against torch's image ops; their noise covariance."""
import math

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

from scoreaug_lab import symbolic as S


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
