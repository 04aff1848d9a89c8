"""Oracle denoisers: what the best possible denoiser does, called like a model (`denoiser.Denoiser`).

Training set {x_i}, x0 uniform on it, y = x0 + sigma n. The ideal denoiser is the posterior mean
D*(y; sigma) = sum_i w_i(y) x_i with w_i = softmax_i(-||y - x_i||^2 / (2 sigma^2)) (scores.ideal_denoiser): it
can only reproduce training points (memorisation). The true denoiser of a Gaussian or a Gaussian mixture is
closed form. Under one fixed transform T there are two optima, one per augmentation scheme:

  noisy space (ScoreAug)  input y' = T(x0 + sigma n), target T(x0):  D(y') = E[T x0 | y']
      T invertible:   the posterior over i given y' equals the one given T^-1 y', so
                      D(y') = sum_i w_i(T^-1 y'; sigma) T(x_i)            -> D(T y) = T D(y) for linear T
      T a partial isometry (pixel moves with zero padding, cutout: T T^T a 0/1 diagonal): the noise sits
                      only on the pixels that receive a source, with variance sigma^2, and the others are
                      exactly 0 in y' and in every T x_i, so D(y') = sum_i softmax_i(-||y' - T x_i||^2 / 2 sigma^2) T x_i
      otherwise (bilinear resampling): the noise covariance sigma^2 T T^T is singular and correlated; no
                      cheap exact form: not available.
  clean space             input y' = T(x0) + sigma n (fresh white noise): the ideal denoiser of the set {T x_i}.
      For orthogonal T both coincide; for brightness a the clean-space optimum treats the input as if its noise
      were sigma while it is a sigma: not equivariant.

`equivariance_check` measures D(T y; sigma, omega_T) against T D(y; sigma, 0) for any pair of denoisers.
The optima of every cell of the grid for points and affine families are in `scoreaug_lab.optima`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .diffusion import SIGMA_DATA
from .scores import gaussian_denoiser, ideal_denoiser
from .transforms.linear import sparse_image_matrix

CPU = torch.device("cpu")


class OracleDenoiser:
    """Base of the closed-form denoisers: the `Denoiser` attributes of a model that reads no omega or labels."""

    omega_dim, label_dim, sigma_data, device = 0, 0, SIGMA_DATA, CPU

    def denoise(self, y: torch.Tensor, sigma) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x, sigma, omega=None, labels=None):
        """omega and labels are ignored: an oracle is built for one transform (see transform_optimum)."""
        return self.denoise(x.double(), torch.as_tensor(sigma, dtype=torch.float64)).to(x.dtype)


class IdealDenoiser(OracleDenoiser):
    """The memorising optimum of a training set (N, ...)."""

    def __init__(self, train: torch.Tensor):
        if train.ndim < 2 or train.shape[0] < 1:
            raise ValueError(f"the training set must be a batch (N, ...), got shape {tuple(train.shape)}")
        self.train = train.double()

    def denoise(self, y, sigma):
        return ideal_denoiser(y, sigma, self.train)


class MixtureDenoiser(OracleDenoiser):
    """The true (MMSE) denoiser of a data.GaussianMixture: what a perfectly generalising model matches."""

    def __init__(self, mixture):
        self.mixture = mixture

    def denoise(self, y, sigma):
        return self.mixture.denoiser(y, sigma)


class GaussianDenoiser(OracleDenoiser):
    """The true denoiser of N(mean, cov): mean + cov (cov + sigma^2 I)^-1 (y - mean)."""

    def __init__(self, mean, cov):
        self.mean, self.cov = mean, cov

    def denoise(self, y, sigma):
        return gaussian_denoiser(y, sigma.reshape(-1), self.mean, self.cov)


class TransformOptimum(OracleDenoiser):
    """The optimum of one augmentation space under one fixed transform (module docstring): `available` is
    False (and `note` says why) where it has no cheap exact form."""

    def __init__(self, space: str, note: str, train=None, values=None, transform=None, params=None):
        self.space, self.note = space, note
        self.train, self.values, self.transform, self.params = train, values, transform, params

    @property
    def available(self) -> bool:
        return self.values is not None

    def denoise(self, y, sigma):
        if not self.available:
            raise ValueError(self.note)
        if self.transform is None:                      # softmax over the transformed set itself
            return ideal_denoiser(y, sigma, self.values)
        rows = self.params.to(torch.float64).expand(y.shape[0], -1)
        back = self.transform._inverse(y, rows)          # T^-1 y'
        return ideal_denoiser(back, sigma, self.train, values=self.values)


def transform_optimum(train: torch.Tensor, transform, params: torch.Tensor, space: str) -> TransformOptimum:
    """The clean- or noisy-space optimum for the training set `train` (N, ...) under T with one parameter row
    params (1, n_params)."""
    if space not in ("clean", "noisy"):
        raise ValueError(f"space must be 'clean' or 'noisy', got {space!r}")
    train = train.double()
    params = transform.check_params(torch.as_tensor(params, dtype=torch.float64).reshape(1, -1), 1)
    values = transform.apply(train, params.expand(train.shape[0], -1))              # T(x_i)
    if space == "clean":
        return TransformOptimum("clean", "clean-space optimum: ideal denoiser of the transformed set {T x_i} "
                                "at noise sigma (it assumes white noise of level sigma in its input)", values=values)
    if transform.invertible:
        return TransformOptimum("noisy", "noisy-space (ScoreAug) optimum: sum_i w_i(T^-1 y'; sigma) T(x_i), exact "
                                "(T is invertible)", train, values, transform, params)
    if _partial_isometry(transform, params, train):
        return TransformOptimum("noisy", "noisy-space (ScoreAug) optimum: T copies or zeroes pixels, so the "
                                "likelihood counts only the pixels that carry noise (the zeroed ones are "
                                "noise-free): exact", values=values)
    return TransformOptimum("noisy", f"noisy-space optimum not available for {transform.name}: T mixes "
                            "neighbouring pixels, so the noise sigma T n is correlated with a singular covariance "
                            "sigma^2 T T^T, and its exact posterior is not cheap")


def _partial_isometry(transform, params, train) -> bool:
    if not transform.linear or train.ndim != 4:
        return False
    sparse = sparse_image_matrix(transform, params, train.shape[-2], train.shape[-1])
    return sparse is not None and sparse.is_partial_isometry()


@dataclass
class Equivariance:
    """D(T y; sigma, omega_T) beside T D(y; sigma, 0), and how far apart they are."""

    transformed_input: torch.Tensor     # D(T y; sigma, omega_T), (B, ...)
    transformed_output: torch.Tensor    # T D(y; sigma, 0), (B, ...)
    error: float                        # mean over the batch of ||difference|| / sqrt(dim) (RMS per coordinate)
    relative: float                     # mean of ||difference|| / ||T D(y)||

    @property
    def difference(self) -> torch.Tensor:
        return self.transformed_input - self.transformed_output


@torch.no_grad()
def transformed_pair(denoiser_t, denoiser, transform, rows: torch.Tensor, y: torch.Tensor, sigma: torch.Tensor,
                     omega_t=None, omega_0=None, labels=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The two sides of equivariance, (denoiser_t(T y; sigma, omega_t), T denoiser(y; sigma, omega_0)), float64 on
    the CPU, for y (B, ...), parameter rows (B, n_params) and noise levels (B,): the one computation behind
    `equivariance_check` and `metrics.equivariance_error`. Oracles compute in float64, networks in float32."""
    rows, y = rows.double().cpu(), y.double().cpu()

    def run(model, x, omega):
        dtype = torch.float64 if isinstance(model, OracleDenoiser) else torch.float32
        device = model.device
        om = None if omega is None else omega.to(device)
        lab = None if labels is None else labels.to(device)
        return model(x.to(device, dtype), sigma.to(device, dtype), omega=om, labels=lab).double().cpu()

    return run(denoiser_t, transform.apply(y, rows), omega_t), transform.apply(run(denoiser, y, omega_0), rows)


def equivariance_check(denoiser_t, denoiser, transform, params, y: torch.Tensor, sigma: float,
                       omega_t=None, omega_0=None) -> Equivariance:
    """Compare denoiser_t(T y; sigma, omega_t) with T denoiser(y; sigma, omega_0) for y (B, ...) and one
    parameter row params (1, n_params). For the ScoreAug optimum, denoiser_t = transform_optimum(...,
    "noisy") and denoiser = IdealDenoiser(train); for a model, both are the model (with omega_T and 0)."""
    rows = torch.as_tensor(params, dtype=torch.float64).reshape(1, -1).expand(y.shape[0], -1)
    sig = torch.full((y.shape[0],), float(sigma), dtype=torch.float64)
    d_ty, t_dy = transformed_pair(denoiser_t, denoiser, transform, rows, y, sig, omega_t, omega_0)
    diff = (d_ty - t_dy).reshape(y.shape[0], -1)
    norms = diff.norm(dim=1)
    return Equivariance(d_ty, t_dy, (norms / diff.shape[1] ** 0.5).mean().item(),
                        (norms / t_dy.reshape(y.shape[0], -1).norm(dim=1).clamp(min=1e-12)).mean().item())


__all__ = ["OracleDenoiser", "IdealDenoiser", "MixtureDenoiser", "GaussianDenoiser", "TransformOptimum",
           "transform_optimum", "Equivariance", "equivariance_check", "transformed_pair"]
