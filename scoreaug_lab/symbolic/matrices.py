"""Noise covariance of image transforms, from hand-written matrices on a small grid.

An image (H, W) of one channel is a vector of H*W pixels in row-major order; a linear transform is a
matrix T with T[out_pixel, in_pixel]. White noise sigma n becomes T sigma n with covariance sigma^2 T T^T.
The matrices are written here independently of the library's transforms, as a test oracle for them:
exact (sympy) where the transform moves or zeroes whole pixels, float64 for interpolated rotations.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp


def _index(i: int, j: int, size: int) -> int:
    return i * size + j


def _matrix_from_source(size: int, source, exact: bool = True):
    """0/1 matrix (sympy when exact, else float64 numpy): output pixel (i, j) copies input pixel
    source(i, j); None means zero padding."""
    n = size * size
    T = sp.zeros(n, n) if exact else np.zeros((n, n))
    for i in range(size):
        for j in range(size):
            src = source(i, j)
            if src is not None:
                T[_index(i, j, size), _index(*src, size)] = 1
    return T


def rot90_matrix(size: int = 4, exact: bool = True):
    """Quarter turn as torch.rot90(img, 1, dims=(0, 1)): out[i, j] = in[j, size - 1 - i]."""
    return _matrix_from_source(size, lambda i, j: (j, size - 1 - i), exact)


def hflip_matrix(size: int = 4, exact: bool = True):
    """Left-right mirror: out[i, j] = in[i, size - 1 - j]."""
    return _matrix_from_source(size, lambda i, j: (i, size - 1 - j), exact)


def vflip_matrix(size: int = 4, exact: bool = True):
    """Up-down mirror: out[i, j] = in[size - 1 - i, j]."""
    return _matrix_from_source(size, lambda i, j: (size - 1 - i, j), exact)


def brightness_matrix(size: int = 4, a=None, exact: bool = True):
    """x -> a x; a is a positive sympy symbol by default (exact), 1.5 in float64."""
    if not exact:
        return (1.5 if a is None else float(a)) * np.eye(size * size)
    a = sp.Symbol("a", positive=True) if a is None else sp.sympify(a)
    return a * sp.eye(size * size)


def cutout_matrix(size: int = 4, top: int = 1, left: int = 1, extent: int = 2, exact: bool = True):
    """Zero a square of side `extent` at (top, left); the other pixels pass through."""
    inside = (lambda i, j: top <= i < top + extent and left <= j < left + extent)
    return _matrix_from_source(size, lambda i, j: None if inside(i, j) else (i, j), exact)


def translate_matrix(size: int = 4, dy: int = 0, dx: int = 1, exact: bool = True):
    """Shift by (dy, dx) pixels with zero padding: out[i, j] = in[i - dy, j - dx] (0 outside)."""
    def source(i, j):
        si, sj = i - dy, j - dx
        return (si, sj) if 0 <= si < size and 0 <= sj < size else None
    return _matrix_from_source(size, source, exact)


def _rotation_sources(size: int, degrees: float):
    """Source coordinates (row, col) for every output pixel of a rotation about the image centre, in the
    convention of torch.nn.functional.affine_grid with theta = [[cos, -sin, 0], [sin, cos, 0]]
    (align_corners=False): col_s = c + cos (j - c) - sin (i - c), row_s = c + sin (j - c) + cos (i - c)."""
    t = math.radians(degrees)
    c = (size - 1) / 2
    i, j = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64), indexing="ij")
    col = c + math.cos(t) * (j - c) - math.sin(t) * (i - c)
    row = c + math.sin(t) * (j - c) + math.cos(t) * (i - c)
    return row, col


def bilinear_rotation_matrix(size: int = 4, degrees: float = 30.0) -> np.ndarray:
    """Rotation about the centre with bilinear interpolation and zero padding, float64 (size^2, size^2):
    each output pixel mixes the four input pixels around its source point with weights (1-u)(1-v), ...;
    neighbours outside the image contribute 0 (they are zero padding)."""
    row, col = _rotation_sources(size, degrees)
    T = np.zeros((size * size, size * size))
    for i in range(size):
        for j in range(size):
            r0, c0 = math.floor(row[i, j]), math.floor(col[i, j])
            v, u = row[i, j] - r0, col[i, j] - c0
            for dr, dc, w in ((0, 0, (1 - v) * (1 - u)), (0, 1, (1 - v) * u), (1, 0, v * (1 - u)), (1, 1, v * u)):
                rr, cc = r0 + dr, c0 + dc
                if 0 <= rr < size and 0 <= cc < size:
                    T[_index(i, j, size), _index(rr, cc, size)] += w
    return T


def nearest_rotation_matrix(size: int = 4, degrees: float = 30.0) -> np.ndarray:
    """Rotation about the centre with nearest-neighbour lookup (round half to even) and zero padding."""
    row, col = _rotation_sources(size, degrees)
    T = np.zeros((size * size, size * size))
    for i in range(size):
        for j in range(size):
            rr, cc = int(np.rint(row[i, j])), int(np.rint(col[i, j]))
            if 0 <= rr < size and 0 <= cc < size:
                T[_index(i, j, size), _index(rr, cc, size)] = 1.0
    return T


def image_transform_matrices(size: int = 4, degrees: float = 30.0, brightness=None, exact: bool | None = None) -> dict:
    """name -> T for the transforms of the covariance table: sympy exact matrices (default for size <= 8;
    brightness a symbol unless given) or float64 numpy ones; interpolated rotations are always float64."""
    if size < 2:
        raise ValueError(f"the grid needs size >= 2, got {size}")
    exact = size <= 8 if exact is None else exact
    return {"identity": sp.eye(size * size) if exact else np.eye(size * size),
            "rot90": rot90_matrix(size, exact), "hflip": hflip_matrix(size, exact),
            "vflip": vflip_matrix(size, exact), "brightness": brightness_matrix(size, brightness, exact),
            "cutout": cutout_matrix(size, top=size // 4, left=size // 4, extent=max(1, size // 2), exact=exact),
            "translate": translate_matrix(size, 0, 1, exact),
            f"rotate{degrees:g}_bilinear": bilinear_rotation_matrix(size, degrees),
            f"rotate{degrees:g}_nearest": nearest_rotation_matrix(size, degrees)}


def covariance_row(name: str, T) -> dict:
    """Properties of the noise covariance C = T T^T (in units of sigma^2) for one transform:
    orthogonal (C = I), projection (C^2 = C), rank, retained_variance = tr(C) / n, the same averaged
    over the output pixels that lose nothing to padding or cutout (their row of T has the largest sum),
    and the largest covariance C puts between two different pixels."""
    n = T.shape[0]
    if isinstance(T, sp.MatrixBase):
        C = T * T.T
        orthogonal = (C - sp.eye(n)).is_zero_matrix
        scaled = C.is_diagonal() and len(set(C.diagonal())) == 1
        projection = C.is_symmetric() and (C * C - C).is_zero_matrix
        off = max((abs(C[i, j]) for i in range(n) for j in range(n) if i != j), default=sp.Integer(0))
        retained = sp.simplify(C.trace() / n)
        sums = [sum(T.row(k)) for k in range(n)]
        unpadded = [k for k in range(n) if sp.simplify(sums[k] - max(sums, key=sp.default_sort_key)) == 0]
        inside = sp.simplify(sum(C[k, k] for k in unpadded) / len(unpadded))
        rank = C.rank()
        exact = True
    else:
        C = T @ T.T
        orthogonal = bool(np.allclose(C, np.eye(n), atol=1e-12, rtol=0))
        scaled = bool(np.allclose(C, C[0, 0] * np.eye(n), atol=1e-12, rtol=0))
        projection = bool(np.allclose(C @ C, C, atol=1e-12, rtol=0))
        off = float(np.max(np.abs(C - np.diag(np.diag(C)))))
        retained = float(np.trace(C) / n)
        rank = int(np.linalg.matrix_rank(C, tol=1e-10))
        exact = False
        sums = T.sum(1)
        unpadded = np.isclose(sums, sums.max(), rtol=0, atol=1e-12)
        inside = float(np.mean(np.diag(C)[unpadded]))
    if orthogonal:
        kind = "I (noise kept exactly)"
    elif scaled:
        kind = f"{C[0, 0]} * I (noise level rescaled)"
    elif projection:
        kind = f"projection of rank {rank} (noise-free pixels)"
    else:
        kind = "correlated, not a projection"
    return {"transform": name, "exact": exact, "orthogonal": bool(orthogonal), "projection": bool(projection),
            "rank": int(rank), "retained_variance": retained, "retained_unpadded": inside,
            "max_offdiagonal": off, "covariance": kind}


def noise_covariance_table(size: int = 4, degrees: float = 30.0, brightness=None,
                           exact: bool | None = None) -> list[dict]:
    """One row per transform (see covariance_row): is T T^T = I, a projection, its rank, the retained
    variance tr(T T^T) / n, and the largest covariance between two pixels."""
    return [covariance_row(name, T)
            for name, T in image_transform_matrices(size, degrees, brightness, exact).items()]


def format_table(rows: list[dict]) -> str:
    """A plain-text table of dict rows (same keys in each)."""
    if not rows:
        return ""
    keys = list(rows[0])
    cells = [[f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    line = "  ".join(k.ljust(w) for k, w in zip(keys, widths))
    body = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join([line, "-" * len(line), *body])
