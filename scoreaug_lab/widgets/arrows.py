"""Vector fields as plotly line segments (one Scatter trace per field: arrows separated by NaN gaps)."""
from __future__ import annotations

import numpy as np


def arrow_segments(points: np.ndarray, vectors: np.ndarray, max_length: float, reference: float,
                   head: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """x and y coordinates drawing an arrow from each point along its vector.

    points, vectors (M, 2). An arrow of magnitude |v| gets length max_length * min(1, |v| / reference)
    (so fields drawn with the same reference are comparable; longer ones are clipped); zero or non-finite
    vectors draw nothing. Each arrow is a shaft and two head strokes, each stroke followed by a NaN (a gap).
    """
    points, vectors = np.asarray(points, float), np.asarray(vectors, float)
    if points.shape != vectors.shape or points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points and vectors must both be (M, 2), got {points.shape} and {vectors.shape}")
    norm = np.linalg.norm(vectors, axis=1)
    keep = np.isfinite(norm) & (norm > 0) & np.isfinite(points).all(1)
    if reference <= 0 or not np.isfinite(reference) or not keep.any():
        return np.array([]), np.array([])
    p, v, n = points[keep], vectors[keep], norm[keep]
    length = max_length * np.minimum(1.0, n / reference)
    d = v / n[:, None]                                            # unit directions
    tip = p + d * length[:, None]
    h = head * length[:, None]
    c, s = np.cos(np.radians(150)), np.sin(np.radians(150))
    left = tip + h * np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]], 1)
    right = tip + h * np.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]], 1)
    gap = np.full_like(p, np.nan)
    # per arrow: p -> tip, gap, left -> tip -> right, gap  (7 vertices)
    verts = np.stack([p, tip, gap, left, tip, right, gap], axis=1).reshape(-1, 2)
    return verts[:, 0], verts[:, 1]
