"""The matrix of a linear (or affine) transform and what it does to white noise: one implementation.

For T(x) = A x + b with fixed parameters, the noisy-space input is T(x0 + sigma n) = T(x0) + sigma A n, so
its noise has covariance sigma^2 A A^T:

    Var[(A n)_p] = sum_q A_pq^2          Cov[(A n)_p, (A n)_p'] = sum_q A_pq A_p'q

Orthogonal A (rot90, flips, circular shifts, any rotation of the plane) keeps white noise white; brightness
a gives a^2 I; zero padding and cutout leave noise-free pixels; bilinear rotation averages neighbours.

- `affine_parts`: (A, b) for one or several parameter rows, read off T at 0 and the unit vectors (dense).
- `transform_matrix`: A of a linear T with one parameter row (dense, (D, D)).
- `sparse_image_matrix`: A of an image transform from 8 probe images, fast enough for a slider (every image
  transform of the toolkit reads each output pixel from at most a 2x2 block of source pixels: pixel moves
  read one, bilinear resampling four). Colour the source pixels by (row mod 2, column mod 2); a 2x2 block
  holds one pixel of each colour; with P_c the indicator of colour c and Q_c = P_c (index + 1),
  (T P_c)_p = A_pq and (T Q_c)_p / (T P_c)_p = index(q) + 1 for the one source q of colour c read by p.
  The result is checked against T on a random image; a transform with wider support gets None.
- `image_noise_summary` / `point_noise_summary`: the statistics a learner reads (variance ratio, noise-free
  fraction, neighbour correlation), exact from the matrix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

TINY = 1e-12      # weights below this are treated as zero (their square is below 1e-24)


def _one_row(transform, params) -> torch.Tensor:
    params = torch.as_tensor(params, dtype=torch.float64).reshape(1, -1)
    return transform.check_params(params, 1)


def affine_parts(transform, params, event_shape) -> tuple[torch.Tensor, torch.Tensor]:
    """(A (J, D, D), b (J, D)) float64 with T_j(x) = A_j x + b_j on flattened inputs of D = prod(event_shape)
    values, for parameter rows `params` (J, n_params); event_shape an int d (points) or a shape (C, H, W)."""
    if not transform.affine:
        raise ValueError(f"transform {transform.name!r} is not affine: it has no matrix (its Jacobian "
                         "changes from point to point)")
    shape = (int(event_shape),) if isinstance(event_shape, int) else tuple(event_shape)
    size = math.prod(shape)
    params = torch.as_tensor(params, dtype=torch.float64).reshape(-1, transform.n_params)
    n_rows = params.shape[0]
    probe = torch.cat([torch.zeros(1, size), torch.eye(size)]).double()                  # (D + 1, D)
    x = probe.repeat(n_rows, 1).reshape(n_rows * (size + 1), *shape)
    out = transform.apply(x, params.repeat_interleave(size + 1, dim=0)).reshape(n_rows, size + 1, size)
    b = out[:, 0]                                                                      # (J, D)
    a = (out[:, 1:] - b[:, None]).transpose(1, 2)                                      # column k = T(e_k) - b
    return a, b


def transform_matrix(transform, params, event_shape) -> torch.Tensor:
    """The matrix A (D, D) of a linear transform with one parameter row: T(x) = A x (float64)."""
    if not transform.linear:
        raise ValueError(f"transform {transform.name!r} is not linear: it has no single matrix")
    a, _ = affine_parts(transform, _one_row(transform, params), event_shape)
    return a[0]


def correlation(cov: torch.Tensor, var_a: torch.Tensor, var_b: torch.Tensor) -> torch.Tensor:
    """cov / sqrt(var_a var_b), and 0 where either variance is 0 (a noise-free pixel)."""
    denom = (var_a * var_b).sqrt()
    return torch.where(denom > TINY, cov / denom.clamp_min(1e-300), torch.zeros_like(cov))


@dataclass
class SparseImageMatrix:
    """A as up to 4 (weight, source) pairs per output pixel; source -1 where the weight is 0."""

    weights: torch.Tensor      # (4, H, W) float64
    sources: torch.Tensor      # (4, H, W) long, flat source index i*W + j

    def matvec(self, image: torch.Tensor) -> torch.Tensor:
        """A applied to one (H, W) image through the sparse form."""
        flat = image.reshape(-1).to(self.weights.dtype)
        return (self.weights * flat[self.sources.clamp(min=0)]).sum(0)

    def variance(self) -> torch.Tensor:
        """(H, W): sum_q A_pq^2."""
        return (self.weights ** 2).sum(0)

    def covariance(self, axis: int) -> torch.Tensor:
        """sum_q A_pq A_p'q for the neighbour p' to the right (axis=-1: (H, W-1)) or below (axis=-2: (H-1, W)).
        A shared source has the same colour, so only pairs in the same colour slot can match."""
        w, s = self.weights, self.sources
        if axis == -1:
            w0, w1, s0, s1 = w[:, :, :-1], w[:, :, 1:], s[:, :, :-1], s[:, :, 1:]
        else:
            w0, w1, s0, s1 = w[:, :-1], w[:, 1:], s[:, :-1], s[:, 1:]
        same = (s0 == s1) & (s0 >= 0)
        return torch.where(same, w0 * w1, torch.zeros_like(w0)).sum(0)

    def is_partial_isometry(self) -> bool:
        """A A^T is a 0/1 diagonal: each output copies one source with weight 1 (or is 0) and no two outputs
        share a source (pixel moves, zero padding, cutout)."""
        active = self.sources >= 0
        if (active.sum(0) > 1).any() or ((self.weights[active] - 1).abs() > TINY).any():
            return False
        used = self.sources[active]
        return used.unique().numel() == used.numel()


def sparse_image_matrix(transform, params, height: int, width: int) -> SparseImageMatrix | None:
    """A from 8 probe images (module docstring), or None when the probes do not reproduce T."""
    if not transform.linear:
        raise ValueError(f"{transform.name} is not linear: its noise response depends on the image")
    params = _one_row(transform, params)
    rows, cols = torch.arange(height).view(-1, 1), torch.arange(width).view(1, -1)
    colour = (rows % 2) * 2 + (cols % 2)                                               # (H, W) in 0..3
    index = (rows * width + cols).double()
    masks = torch.stack([(colour == c).double() for c in range(4)])                   # (4, H, W)
    probes = torch.cat([masks, masks * (index + 1)]).unsqueeze(1)                      # (8, 1, H, W)
    out = transform.apply(probes, params.expand(8, -1))[:, 0]                          # (8, H, W)
    weights, tagged = out[:4], out[4:]
    active = weights.abs() > TINY
    sources = torch.where(active, (tagged / torch.where(active, weights, torch.ones_like(weights))).round() - 1,
                          torch.full_like(weights, -1)).long()
    if (active & ((sources < 0) | (sources >= height * width))).any():
        return None
    sparse = SparseImageMatrix(torch.where(active, weights, torch.zeros_like(weights)), sources)
    probe = torch.randn(1, 1, height, width, dtype=torch.float64, generator=torch.Generator().manual_seed(1234))
    direct = transform.apply(probe, params)[0, 0]
    if (direct - sparse.matvec(probe[0, 0])).abs().max() > 1e-9 * max(1.0, direct.abs().max().item()):
        return None
    return sparse


@dataclass
class ImageNoiseSummary:
    """What a linear image transform does to white noise of unit variance, per pixel and on average."""

    variance: torch.Tensor              # (H, W) Var[(A n)_p]: the variance ratio per pixel
    corr_right: torch.Tensor            # (H, W-1) correlation with the right neighbour
    corr_down: torch.Tensor             # (H-1, W) correlation with the pixel below
    variance_ratio: float               # mean variance over the pixels that carry noise
    variance_ratio_all: float           # mean over all pixels (= ||A||_F^2 / (H W))
    variance_ratio_interior: float      # mean over the centre disc (pixels every rotation keeps inside)
    noise_free_fraction: float          # fraction of pixels with no noise at all (zero padding, cutout)
    neighbour_correlation: float        # mean correlation of noisy neighbour pairs (right and down)
    partial_isometry: bool              # A A^T a 0/1 diagonal (pixels copied or zeroed)
    method: str                         # "probes" (8 probe images) or "dense" (the full matrix)


def centre_disc(height: int, width: int) -> torch.Tensor:
    """(H, W) bool: pixels within (min(H, W) - 1) / 2 - 1 of the centre (inside the image at any rotation)."""
    i = torch.arange(height, dtype=torch.float64).view(-1, 1) - (height - 1) / 2
    j = torch.arange(width, dtype=torch.float64).view(1, -1) - (width - 1) / 2
    radius = max((min(height, width) - 1) / 2 - 1, 0.5)
    return i ** 2 + j ** 2 <= radius ** 2


def _dense_statistics(transform, params, height: int, width: int):
    """(variance, right covariance, down covariance, partial isometry) from the dense matrix of one channel."""
    a = transform_matrix(transform, params, (1, height, width)).reshape(height, width, height * width)
    variance = (a ** 2).sum(-1)
    cov_right = (a[:, :-1] * a[:, 1:]).sum(-1)
    cov_down = (a[:-1] * a[1:]).sum(-1)
    gram = a.reshape(height * width, -1) @ a.reshape(height * width, -1).T
    diag = torch.diagonal(gram)
    partial = bool(((gram - torch.diag(diag)).abs() < TINY).all() and (((diag - 1).abs() < TINY) | (diag.abs() < TINY)).all())
    return variance, cov_right, cov_down, partial


def image_noise_summary(transform, params, height: int, width: int, dense: bool = False) -> ImageNoiseSummary:
    """Exact noise statistics of a linear image transform with one parameter row (1, n_params), from the
    sparse probe matrix where it reproduces T, else (or with dense=True) from the dense matrix."""
    params = _one_row(transform, params)
    sparse = None if dense else sparse_image_matrix(transform, params, height, width)
    if sparse is not None:
        variance, cov_r, cov_d = sparse.variance(), sparse.covariance(-1), sparse.covariance(-2)
        partial, method = sparse.is_partial_isometry(), "probes"
    else:
        variance, cov_r, cov_d, partial = _dense_statistics(transform, params, height, width)
        method = "dense"
    corr_right = correlation(cov_r, variance[:, :-1], variance[:, 1:])
    corr_down = correlation(cov_d, variance[:-1], variance[1:])
    noisy = variance > TINY
    pairs = torch.cat([corr_right[noisy[:, :-1] & noisy[:, 1:]], corr_down[noisy[:-1] & noisy[1:]]])
    return ImageNoiseSummary(
        variance=variance, corr_right=corr_right, corr_down=corr_down,
        variance_ratio=variance[noisy].mean().item() if noisy.any() else 0.0,
        variance_ratio_all=variance.mean().item(),
        variance_ratio_interior=variance[centre_disc(height, width)].mean().item(),
        noise_free_fraction=1.0 - noisy.double().mean().item(),
        neighbour_correlation=pairs.mean().item() if pairs.numel() else 0.0,
        partial_isometry=partial, method=method)


@dataclass
class PointNoiseSummary:
    """What a transform of points does to isotropic noise: covariance of the effective noise / sigma^2."""

    covariance: torch.Tensor            # (d, d) Cov[T(x0 + sigma n) - T(x0)] / sigma^2
    variance_ratio: float               # trace / d
    neighbour_correlation: float        # correlation between the first two coordinates
    exact: bool                         # True for affine maps (A A^T), else Monte Carlo
    method: str


def point_noise_summary(transform, params, x0: torch.Tensor, sigma: float, noise: torch.Tensor) -> PointNoiseSummary:
    """Affine T: exactly A A^T. Otherwise Monte Carlo over the effective noise e = T(x0 + sigma n) - T(x0) for
    the noise draws `noise` (K, N, d) at the points x0 (N, d)."""
    params = _one_row(transform, params)
    d = x0.shape[1]
    if transform.affine:
        a = affine_parts(transform, params, d)[0][0]
        cov, exact, method = a @ a.T, True, "exact: A A^T"
    else:
        k, n, _ = noise.shape
        x = x0.double().unsqueeze(0).expand(k, n, d).reshape(-1, d)
        p = params.expand(x.shape[0], -1)
        eff = (transform.apply(x + sigma * noise.double().reshape(-1, d), p) - transform.apply(x, p)) / sigma
        eff = eff - eff.mean(0, keepdim=True)
        cov, exact, method = eff.T @ eff / eff.shape[0], False, f"Monte Carlo over {eff.shape[0]} draws"
    var = torch.diagonal(cov)
    corr = correlation(cov[0, 1], var[0], var[1]).item() if d >= 2 else 0.0
    return PointNoiseSummary(cov, var.mean().item(), corr, exact, method)


__all__ = ["affine_parts", "transform_matrix", "correlation", "SparseImageMatrix", "sparse_image_matrix",
           "ImageNoiseSummary", "image_noise_summary", "PointNoiseSummary", "point_noise_summary", "centre_disc"]
