"""Oracle denoisers for the widgets: what the best possible denoiser does, so a widget works without a
trained model. All follow the model convention model(x, sigma, omega=None, labels=None) where it fits.

Training set {x_i}, x0 uniform on it, y = x0 + sigma n. The ideal denoiser is the posterior mean
D*(y; sigma) = sum_i w_i(y) x_i with w_i = softmax_i(-||y - x_i||^2 / (2 sigma^2)) (scores.ideal_denoiser).
Under a transform T with fixed parameters there are two optima, one per augmentation scheme:

  noisy space (ScoreAug)  input y' = T(x0 + sigma n), target T(x0):  D(y') = E[T x0 | y']
      T invertible:   the posterior over i given y' equals the one given T^-1 y', so
                      D(y') = sum_i w_i(T^-1 y'; sigma) T(x_i)            -> D(T y) = T D(y) for linear T
      T a partial isometry (pixel moves with zero padding, cutout: T T^T a 0/1 diagonal): the noise
                      sits only on the pixels that receive a source, with variance sigma^2, and the others
                      are exactly 0 in y' and in every T x_i, so
                      D(y') = sum_i softmax_i(-||y' - T x_i||^2 / (2 sigma^2)) T(x_i)
      otherwise (bilinear resampling): the noise covariance sigma^2 T T^T is singular and correlated;
                      no cheap exact form -> not available.
  clean space             input y' = T(x0) + sigma n (fresh white noise): the ideal denoiser of the
                      transformed set {T x_i} at noise sigma:
                      D(y') = sum_i softmax_i(-||y' - T x_i||^2 / (2 sigma^2)) T x_i.
                      For orthogonal T both coincide; for brightness a the clean-space optimum treats the
                      input as if its noise were sigma while it is a sigma: not equivariant.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..scores import ideal_denoiser


class IdealDenoiser:
    """The memorising optimum of a training set, called like a model (omega and labels are ignored)."""

    def __init__(self, train: torch.Tensor):
        if train.ndim < 2 or train.shape[0] < 1:
            raise ValueError(f"the training set must be a batch (N, ...), got shape {tuple(train.shape)}")
        self.train = train.double()

    def __call__(self, x, sigma, omega=None, labels=None):
        return ideal_denoiser(x.double(), sigma, self.train).to(x.dtype)


class MixtureDenoiser:
    """The true (MMSE) denoiser of a GaussianMixture, called like a model: the reference a perfectly
    generalising model would match (its samples are fresh data)."""

    omega_dim = 0

    def __init__(self, mixture):
        self.mixture = mixture

    def parameters(self):  # no learnable parameters (lets callers ask for a device)
        return iter(())

    def __call__(self, x, sigma, omega=None, labels=None):
        return self.mixture.denoiser(x.double(), torch.as_tensor(sigma, dtype=torch.float64)).to(x.dtype)


@dataclass
class Oracle:
    """One optimum under a fixed transform: `denoise(y', sigma)` (None when not available) and what it is."""

    name: str                    # "noisy-space" or "clean-space"
    denoise: object              # callable (y' (B, ...), sigma) -> (B, ...) float64, or None
    note: str                    # the formula used, or why there is none

    @property
    def available(self) -> bool:
        return self.denoise is not None


def _softmax_mean(y: torch.Tensor, sigma: float, centres: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """sum_i softmax_i(-||y - c_i||^2 / (2 sigma^2)) v_i for a batch y (B, ...), float64."""
    return ideal_denoiser(y.double(), sigma, centres, values=values)


def clean_space_oracle(train: torch.Tensor, transformed: torch.Tensor) -> Oracle:
    """Ideal denoiser of the transformed training set {T x_i} (B, ...) at noise sigma (fresh white noise)."""
    return Oracle("clean-space", lambda y, sigma: _softmax_mean(y, sigma, transformed, transformed),
                  "clean-space optimum: ideal denoiser of the transformed set {T x_i} at noise sigma "
                  "(it assumes white noise of level sigma in its input)")


def noisy_space_oracle(train: torch.Tensor, transformed: torch.Tensor, transform, params: torch.Tensor,
                       partial_isometry: bool = False) -> Oracle:
    """E[T x0 | T(x0 + sigma n) = y'] over the training set, where an exact form is cheap (see the module
    docstring). train, transformed: (N, ...) with transformed = T(train); params (1, n_params);
    partial_isometry: T T^T is a 0/1 diagonal (from widgets.noise_stats)."""
    if transform.invertible:
        def denoise(y, sigma):
            p = params.to(torch.float64).expand(y.shape[0], -1)
            back = transform._inverse(y.double(), p)                            # T^-1 y'
            return _softmax_mean(back, sigma, train, transformed)
        return Oracle("noisy-space", denoise,
                      "noisy-space (ScoreAug) optimum: sum_i w_i(T^-1 y'; sigma) T(x_i), exact (T is invertible)")
    if partial_isometry:
        return Oracle("noisy-space", lambda y, sigma: _softmax_mean(y, sigma, transformed, transformed),
                      "noisy-space (ScoreAug) optimum: T copies or zeroes pixels, so the likelihood counts only "
                      "the pixels that carry noise (the zeroed ones are noise-free): exact")
    return Oracle("noisy-space", None,
                  f"noisy-space optimum not available for {transform.name}: T mixes neighbouring pixels, so the "
                  "noise sigma T n is correlated with a singular covariance sigma^2 T T^T, and its exact "
                  "posterior is not cheap; use the clean-space optimum or a trained model")
