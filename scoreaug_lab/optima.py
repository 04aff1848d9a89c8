"""Optimal denoisers of every variant of the grid, for a finite training set {x_i} of points and affine
transforms T(x) = A x + b: the oracles that tests, notebooks and widgets set beside trained networks.

Each optimum is a posterior mean over the components (i, j) of a finite mixture: the training point x_i
and the transform T_j (the identity, or one of finitely many parameter draws) with prior weight pi_j / N.
The model sees y and sigma (and omega when conditioned); it regresses the target T_j x_i. With x_i known,

    clean space   y = T_j x_i + sigma n           p(y | i, j) = N(y; T_j x_i, sigma^2 I)
    noisy space   y = T_j(x_i + sigma n)          p(y | i, j) = N(y; T_j x_i, sigma^2 A_j A_j^T)

so D(y; sigma) = sum_ij w_ij(y) T_j x_i with w_ij = softmax_ij(log pi_j - q_ij / 2 - c_j):
  clean: q_ij = ||y - T_j x_i||^2 / sigma^2, c_j = 0;
  noisy: q_ij = ||T_j^-1 y - x_i||^2 / sigma^2, c_j = log|det A_j| (the Gaussian's normaliser).

- noaug, and every conditioned variant at omega = 0: the ideal denoiser of the training set (one
  component, the identity): its samples reproduce training points (memorisation).
- conditioned variants told omega_T: one component T. Noisy space gives T D*(T^-1 y; sigma) (the
  equivariant ScoreAug optimum); clean space gives the ideal denoiser of the set {T x_i}.
- unconditioned variants: all components; the transform family's parameter law is replaced by a
  quantisation into at most `n_draws` weighted parameter values per transform (`transform_draws`).
  Its samples are a mixture of transformed training points: augmentation leaks into the generated data.
"""
from __future__ import annotations

import torch

from .diffusion import SIGMA_DATA, get_variant
from .oracles import OracleDenoiser
from .transforms.linear import affine_parts


class MixtureOptimum(OracleDenoiser):
    """The posterior-mean denoiser over components (i, j) described in the module docstring.

    train (N, d); maps = (A (J, d, d), b (J, d)); weights (J,) prior weights of the transforms (normalised
    here); space "clean" or "noisy". Called as model(x, sigma, omega=None, labels=None): omega is ignored
    (an optimum is built for one omega, see `variant_optimum`). Computes and returns `dtype` (B, d):
    float64 for checks, float32 for speed (float32 rounding moves log-weights by ~1e-7 * |y|^2 / sigma^2)."""

    def __init__(self, train: torch.Tensor, maps, weights, space: str = "clean",
                 sigma_data: float = SIGMA_DATA, chunk: int = 512, dtype=torch.float64):
        if space not in ("clean", "noisy"):
            raise ValueError(f"space must be 'clean' or 'noisy', got {space!r}")
        train = torch.as_tensor(train, dtype=torch.float64)
        if train.ndim != 2 or train.shape[0] < 1:
            raise ValueError(f"training points must be (N, d), got shape {tuple(train.shape)}")
        a, b = (torch.as_tensor(m, dtype=torch.float64) for m in maps)
        w = torch.as_tensor(weights, dtype=torch.float64).reshape(-1)
        if a.shape[0] != b.shape[0] or w.shape[0] != a.shape[0] or (w < 0).any() or w.sum() <= 0:
            raise ValueError("need one map (A_j, b_j) and one non-negative weight per component, not all zero")
        keep = w > 0
        a, b, w = a[keep], b[keep], w[keep]
        self.space, self.sigma_data, self.chunk, self.dtype = space, float(sigma_data), int(chunk), dtype
        # built in float64, kept in `dtype` (float32 is about 3x faster for the widgets' sampling)
        self.train, self.a, self.b = train.to(dtype), a.to(dtype), b.to(dtype)
        self.log_prior = (w / w.sum()).log().to(dtype)                          # (J,)
        self.values = (torch.einsum("jkl,nl->jnk", a, train) + b[:, None]).to(dtype)  # (J, N, d): T_j x_i
        if space == "noisy":
            det = torch.linalg.det(a)
            if (det.abs() < 1e-12).any():
                raise ValueError("noisy-space optimum needs invertible maps (det A_j != 0)")
            self.a_inv = torch.linalg.inv(a).to(dtype)                          # (J, d, d)
            self.log_det = det.abs().log().to(dtype)                            # (J,)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, sigma, omega=None, labels=None) -> torch.Tensor:
        y = torch.as_tensor(x).to(self.dtype)
        if y.ndim != 2 or y.shape[1] != self.train.shape[1]:
            raise ValueError(f"expected points (B, {self.train.shape[1]}), got shape {tuple(y.shape)}")
        sig = torch.as_tensor(sigma).to(self.dtype).reshape(-1).expand(y.shape[0])
        if (sig <= 0).any():
            raise ValueError("sigma must be > 0 for the optimal denoiser")
        flat_values = self.values.reshape(-1, y.shape[1])                       # (J N, d)
        out = []
        for s in range(0, y.shape[0], self.chunk):
            yc, sc = y[s:s + self.chunk], sig[s:s + self.chunk, None, None]    # (B, d), (B, 1, 1)
            if self.space == "clean":
                sq = torch.cdist(yc, flat_values).square_().view(yc.shape[0], *self.values.shape[:2])  # (B, J, N)
                log_prior = self.log_prior
            else:
                z = torch.einsum("jkl,bjl->bjk", self.a_inv, yc[:, None] - self.b[None])  # (B, J, d): T_j^-1 y
                sq = torch.cdist(z, self.train[None].expand(z.shape[0], -1, -1)).square_()  # (B, J, N)
                log_prior = self.log_prior - self.log_det
            logw = sq.mul_(-0.5 / sc**2).add_(log_prior[None, :, None])          # in place: (B, J, N) is large
            w = torch.softmax(logw.view(yc.shape[0], -1), dim=1)                 # (B, J N)
            out.append(w @ flat_values)
        return torch.cat(out)


def transform_draws(transform, n_draws: int = 32, seed: int = 0, oversample: int = 64,
                    iterations: int = 25) -> tuple[torch.Tensor, torch.Tensor]:
    """A quantisation of the transform's parameter law into at most `n_draws` parameter rows with weights:
    (params (K, n_params), counts (K,)).

    `oversample * n_draws` draws are taken; a discrete family (rot90, flip) with at most n_draws distinct
    values keeps each value once, weighted by how often it was drawn; otherwise Lloyd's k-means (started
    from draws evenly spaced in the first parameter) groups the draws, and each group is represented by its
    draw nearest to the group mean (always a valid parameter), weighted by the group's size. For a uniform
    angle or log-scale this gives nearly evenly spaced values, unlike `n_draws` independent draws."""
    if n_draws < 1:
        raise ValueError(f"n_draws must be >= 1, got {n_draws}")
    draws = transform.sample_params(n_draws * oversample, torch.Generator().manual_seed(seed)).double()
    values, counts = torch.unique(draws, dim=0, return_counts=True)
    if values.shape[0] <= n_draws:
        return values, counts.double()
    order = draws[:, 0].argsort()
    centres = draws[order[(torch.arange(n_draws) * draws.shape[0]) // n_draws + oversample // 2]].clone()
    for _ in range(iterations):
        group = torch.cdist(draws, centres).argmin(1)                            # (M,)
        sums = torch.zeros_like(centres).index_add_(0, group, draws)
        sizes = torch.bincount(group, minlength=n_draws).double()
        centres = torch.where(sizes[:, None] > 0, sums / sizes.clamp(min=1)[:, None], centres)
    group = torch.cdist(draws, centres).argmin(1)
    sizes = torch.bincount(group, minlength=n_draws).double()
    nearest = torch.cdist(centres, draws).argmin(1)                              # a real draw per group
    keep = sizes > 0
    return draws[nearest[keep]], sizes[keep]


def variant_optimum(train: torch.Tensor, variant, sampler=None, at=None, n_draws: int = 32, seed: int = 0,
                    sigma_data: float = SIGMA_DATA, dtype=torch.float64) -> MixtureOptimum:
    """The optimal denoiser of `variant` for the training set `train` (N, d) and the transform sampler of
    the run (a `TransformSampler`: its transforms, probability p and weights). dtype: see MixtureOptimum.

    at: for conditioned variants, the transform the model is told through omega: None (omega = 0, the
    identity) or (name, params) with params (1, n_params). Unconditioned variants ignore it (they never
    see omega), and mix the identity (weight 1 - p) with `n_draws` quantised parameter values of every
    transform."""
    variant = get_variant(variant)
    eye = torch.eye(train.shape[1], dtype=torch.float64)[None]
    zero = torch.zeros(1, train.shape[1], dtype=torch.float64)
    identity = MixtureOptimum(train, (eye, zero), [1.0], "clean", sigma_data, dtype=dtype)
    if not variant.augmented:
        return identity
    if sampler is None:
        raise ValueError(f"variant {variant.name!r} needs the run's transform sampler")
    if variant.conditioned:
        if at is None:
            return identity
        name, params = at
        transform = sampler.transforms[sampler.index(name)]
        params = torch.as_tensor(params, dtype=torch.float64).reshape(1, -1)
        space = sampler.stage_of(name) if variant.space == "both" else variant.space  # combined: T's own stage
        return MixtureOptimum(train, affine_parts(transform, params, train.shape[1]), [1.0], space,
                              sigma_data, dtype=dtype)
    maps_a, maps_b, weights = [eye], [zero], [1.0 - sampler.p]
    share = torch.diff(sampler.cum_weights.double(), prepend=torch.zeros(1, dtype=torch.float64))
    for k, transform in enumerate(sampler.transforms):
        params, counts = transform_draws(transform, n_draws, seed + k)
        a, b = affine_parts(transform, params, train.shape[1])
        maps_a.append(a)
        maps_b.append(b)
        weights.extend((sampler.p * share[k] * counts / counts.sum()).tolist())
    return MixtureOptimum(train, (torch.cat(maps_a), torch.cat(maps_b)), weights, variant.space, sigma_data,
                          dtype=dtype)


__all__ = ["MixtureOptimum", "transform_draws", "variant_optimum"]
