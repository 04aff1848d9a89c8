"""Exact white-noise statistics of a linear image transform, fast enough for a slider (32x32 in a few ms).

For T(x0 + sigma n) - T(x0) = sigma T n the noise covariance is sigma^2 T T^T, so everything follows
from T's matrix: Var[(T n)_p] = sum_q T_pq^2 and Cov[(T n)_p, (T n)_p'] = sum_q T_pq T_p'q.
`transforms.images.white_noise_response` builds the matrix from all H*W unit images (exact, but
hundreds of ms at 32x32). Every image transform of the toolkit reads each output pixel from at most a
2x2 block of source pixels (pixel moves read one, bilinear resampling four), so the matrix can be
recovered from 8 probe images instead (the graph-colouring trick for sparse Jacobians):

  colour the source pixels by (row mod 2, column mod 2): a 2x2 block holds one pixel of each colour;
  P_c = indicator of colour c           -> (T P_c)_p = T_pq, q the one source of colour c read by p
  Q_c = P_c * (index + 1)               -> (T Q_c)_p / (T P_c)_p = index(q) + 1

The recovered sparse matrix is checked against T on a random image; when it does not reproduce T (a
transform with wider support) the full basis of white_noise_response is used instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..transforms.images import white_noise_response

_TINY = 1e-12      # weights below this are treated as zero (their square is below 1e-24)


@dataclass
class SparseLinearImage:
    """T as up to 4 (weight, source) pairs per output pixel: weights, sources (4, H, W); source -1 = none."""

    weights: torch.Tensor      # (4, H, W) float64
    sources: torch.Tensor      # (4, H, W) long, flat source index i*W + j, -1 where the weight is 0

    def matvec(self, image: torch.Tensor) -> torch.Tensor:
        """T applied to one (H, W) image through the sparse form."""
        flat = image.reshape(-1).to(self.weights.dtype)
        picked = flat[self.sources.clamp(min=0)]
        return (self.weights * picked).sum(0)

    def variance(self) -> torch.Tensor:
        """(H, W): sum_q T_pq^2."""
        return (self.weights ** 2).sum(0)

    def covariance(self, axis: int) -> torch.Tensor:
        """sum_q T_pq T_p'q for the neighbour p' to the right (axis=-1: (H, W-1)) or below (axis=-2: (H-1, W)).
        A shared source has the same colour, so only the pairs of one colour slot can match."""
        w, s = self.weights, self.sources
        if axis == -1:
            w0, w1, s0, s1 = w[:, :, :-1], w[:, :, 1:], s[:, :, :-1], s[:, :, 1:]
        else:
            w0, w1, s0, s1 = w[:, :-1], w[:, 1:], s[:, :-1], s[:, 1:]
        same = (s0 == s1) & (s0 >= 0)
        return torch.where(same, w0 * w1, torch.zeros_like(w0)).sum(0)

    def is_partial_isometry(self) -> bool:
        """T T^T is a 0/1 diagonal: each output copies one source with weight 1 (or is 0) and no two outputs
        share a source (pixel moves, zero padding, cutout)."""
        active = self.sources >= 0
        if (active.sum(0) > 1).any():
            return False
        if ((self.weights[active] - 1).abs() > 1e-12).any():
            return False
        used = self.sources[active]
        return used.unique().numel() == used.numel()


def sparse_image_matrix(transform, params: torch.Tensor, height: int, width: int) -> SparseLinearImage | None:
    """T's matrix from 8 probe images (see the module docstring), or None when the probes do not
    reproduce T on a random image (T reads more than a 2x2 block per output pixel)."""
    if not transform.linear:
        raise ValueError(f"{transform.name} is not linear: its noise response depends on the image")
    dtype = torch.float64
    rows = torch.arange(height).view(-1, 1)
    cols = torch.arange(width).view(1, -1)
    colour = (rows % 2) * 2 + (cols % 2)                                           # (H, W) in 0..3
    index = (rows * width + cols).to(dtype)
    masks = torch.stack([(colour == c).to(dtype) for c in range(4)])                # (4, H, W)
    probes = torch.cat([masks, masks * (index + 1)]).unsqueeze(1)                   # (8, 1, H, W)
    out = transform.apply(probes, params.to(dtype).expand(8, -1))[:, 0]             # (8, H, W)
    weights, tagged = out[:4], out[4:]
    active = weights.abs() > _TINY
    sources = torch.where(active, (tagged / torch.where(active, weights, torch.ones_like(weights))).round() - 1,
                          torch.full_like(weights, -1)).long()
    bad = active & ((sources < 0) | (sources >= height * width))
    if bad.any():
        return None
    weights = torch.where(active, weights, torch.zeros_like(weights))
    sparse = SparseLinearImage(weights, sources)
    # check: the sparse matrix must reproduce T on a random image
    probe = torch.randn(1, 1, height, width, dtype=dtype, generator=torch.Generator().manual_seed(1234))
    direct = transform.apply(probe, params.to(dtype))[0, 0]
    if (direct - sparse.matvec(probe[0, 0])).abs().max() > 1e-9 * max(1.0, direct.abs().max().item()):
        return None
    return sparse


@dataclass
class NoiseSummary:
    """What T does to white noise of unit variance, per pixel and on average."""

    variance: torch.Tensor              # (H, W) Var[(T n)_p] for n ~ N(0, I): the variance ratio per pixel
    corr_right: torch.Tensor            # (H, W-1) correlation with the right neighbour
    corr_down: torch.Tensor             # (H-1, W) correlation with the pixel below
    variance_ratio: float               # mean variance over the pixels that carry noise
    variance_ratio_all: float           # mean over all pixels (= ||T||_F^2 / (H W))
    variance_ratio_interior: float      # mean over the centre disc (pixels every rotation keeps inside)
    noise_free_fraction: float          # fraction of pixels with no noise at all (zero padding, cutout)
    neighbour_correlation: float        # mean correlation of noisy neighbour pairs (right and down)
    method: str                         # "probes" (8 probe images) or "basis" (all unit images)
    sparse: SparseLinearImage | None    # the recovered matrix (None for "basis")


def centre_disc(height: int, width: int) -> torch.Tensor:
    """(H, W) bool: pixels within (min(H, W) - 1) / 2 - 1 of the centre (inside the image at any rotation)."""
    i = torch.arange(height, dtype=torch.float64).view(-1, 1) - (height - 1) / 2
    j = torch.arange(width, dtype=torch.float64).view(1, -1) - (width - 1) / 2
    radius = max((min(height, width) - 1) / 2 - 1, 0.5)
    return i ** 2 + j ** 2 <= radius ** 2


def _correlation(cov, var_a, var_b):
    denom = (var_a * var_b).sqrt()
    return torch.where(denom > _TINY, cov / denom.clamp_min(1e-300), torch.zeros_like(cov))


def image_noise_summary(transform, params: torch.Tensor, height: int, width: int) -> NoiseSummary:
    """Exact noise statistics of a linear image transform with one parameter row params (1, n_params)."""
    params = transform.check_params(torch.as_tensor(params, dtype=torch.float64).reshape(1, -1), 1)
    sparse = sparse_image_matrix(transform, params, height, width)
    if sparse is not None:
        variance = sparse.variance()
        corr_right = _correlation(sparse.covariance(-1), variance[:, :-1], variance[:, 1:])
        corr_down = _correlation(sparse.covariance(-2), variance[:-1], variance[1:])
        method = "probes"
    else:
        response = white_noise_response(transform, params, height, width)
        variance, corr_right, corr_down = response.variance, response.corr_right, response.corr_down
        method = "basis"
    noisy = variance > _TINY
    pairs = torch.cat([corr_right[noisy[:, :-1] & noisy[:, 1:]], corr_down[noisy[:-1] & noisy[1:]]])
    disc = centre_disc(height, width)
    return NoiseSummary(
        variance=variance, corr_right=corr_right, corr_down=corr_down,
        variance_ratio=variance[noisy].mean().item() if noisy.any() else 0.0,
        variance_ratio_all=variance.mean().item(),
        variance_ratio_interior=variance[disc].mean().item(),
        noise_free_fraction=1.0 - noisy.double().mean().item(),
        neighbour_correlation=pairs.mean().item() if pairs.numel() else 0.0,
        method=method, sparse=sparse)


@dataclass
class PointNoiseSummary:
    """What a transform of points does to isotropic noise: covariance of the effective noise / sigma^2."""

    covariance: torch.Tensor            # (d, d) Cov[T(x0 + sigma n) - T(x0)] / sigma^2
    variance_ratio: float               # trace / d
    neighbour_correlation: float        # correlation between the two coordinates (2-D)
    exact: bool                         # True for affine maps (sigma^2 A A^T), else Monte Carlo
    method: str


def point_noise_summary(transform, params: torch.Tensor, x0: torch.Tensor, sigma: float,
                        noise: torch.Tensor) -> PointNoiseSummary:
    """Affine T: exactly A A^T (A = Jacobian, constant). Otherwise Monte Carlo over the effective noise
    e = T(x0 + sigma n) - T(x0) for the given draws noise (K, N, d) at the points x0 (N, d)."""
    d = x0.shape[1]
    params = transform.check_params(torch.as_tensor(params, dtype=torch.float64).reshape(1, -1), 1)
    if transform.affine:
        # T(x) = A x + b: the columns of A are T(e_j) - T(0) (exact, no autograd needed)
        basis = torch.cat([torch.zeros(1, d, dtype=torch.float64), torch.eye(d, dtype=torch.float64)])
        images = transform.apply(basis, params.expand(d + 1, -1))
        jac = (images[1:] - images[:1]).T                                                # (d, d)
        cov, exact, method = jac @ jac.T, True, "exact: A A^T"
    else:
        k, n, _ = noise.shape
        x = x0.double().unsqueeze(0).expand(k, n, d).reshape(-1, d)
        p = params.expand(x.shape[0], -1)
        eff = (transform.apply(x + sigma * noise.double().reshape(-1, d), p) - transform.apply(x, p)) / sigma
        eff = eff - eff.mean(0, keepdim=True)
        cov, exact, method = eff.T @ eff / eff.shape[0], False, f"Monte Carlo over {eff.shape[0]} draws"
    var = torch.diagonal(cov)
    corr = (cov[0, 1] / (var[0] * var[1]).sqrt()).item() if d >= 2 and (var > _TINY).all() else 0.0
    return PointNoiseSummary(cov, var.mean().item(), corr if math.isfinite(corr) else 0.0, exact, method)
