"""What a transform does to a noisy sample, and what a denoiser does with it: the numbers behind the transform
explorers (widgets.ImageTransformExplorer, widgets.PointTransformExplorer) and notebook 02, in one function.

For clean data x0 (B, ...), white-noise draws n_k (K, B, ...), a noise level sigma and a transform T with one
parameter row (1, n_params), `noise_report` returns

    noisy        y = x0 + sigma n_1
    noisy_space  T(x0 + sigma n_1)           ScoreAug's input
    clean_space  T(x0) + sigma n_1           conventional (clean-space) augmentation's input
    effective    (T(x0 + sigma n_k) - T(x0)) / sigma for every draw: T n_k for a linear T
    histogram    of the effective noise against n itself (units of sigma)
    statistics   exact noise statistics from T's matrix (transforms.linear) for linear T; for a non-linear map
                 of points a Monte Carlo estimate over the draws
    equivariance D(T y; sigma, omega_T) beside T D(y; sigma, 0) (oracles.equivariance_check) for the chosen
                 denoiser: "noisy" or "clean" (the optimum of that augmentation space for the training set,
                 oracles.transform_optimum, against the ideal denoiser oracles.IdealDenoiser) or a model
                 (omega_T from the model's own TransformSampler, sampler.omega_for)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import validation as V
from ..denoiser import as_denoiser
from ..oracles import Equivariance, IdealDenoiser, equivariance_check, transform_optimum
from ..transforms import registry
from ..transforms.linear import image_noise_summary, point_noise_summary

HIST_BINS = np.linspace(-4.0, 4.0, 41)          # noise in units of sigma
OPTIMA = ("noisy", "clean")                     # the two closed-form denoisers of a training set
JENSEN_NOTE = (" | T is non-linear: E[T x0 | T y] = E[T x0 | y] differs from T E[x0 | y] (Jensen), so even the "
               "optimum is not equivariant in this sense")


def noise_draws(shape, n_draws: int, seed: int) -> torch.Tensor:
    """(n_draws, *shape) float64 white noise, the same for the same (shape, n_draws, seed)."""
    shape = tuple(V.integer("shape", n, 1) for n in shape)
    n_draws = V.count("n_draws", n_draws, 8 * math.prod(shape))
    g = torch.Generator().manual_seed(10_007 * V.seed("seed", seed) + 1)
    return torch.randn((n_draws, *shape), generator=g, dtype=torch.float64)


def transform_for(kind: str, name: str, sampler=None):
    """Transform `name` of family `kind` ("points" or "images"): the sampler's own instance when the model was
    trained with it (its options and its omega encoding), else the registry's default."""
    table = registry(kind)
    if name not in table:
        raise ValueError(f"unknown {kind} transform {name!r}; choose from {', '.join(table)}")
    if sampler is not None and name in sampler.names and sampler.transforms[0].event_ndim == table[name].event_ndim:
        return sampler.transforms[sampler.index(name)]
    return table[name]()


# --- the denoiser on both sides of the equivariance relation ---------------------------------------------
def optimum_equivariance(space: str, train: torch.Tensor, transform, params, y: torch.Tensor, sigma: float):
    """(Equivariance or None, note): the clean- or noisy-space optimum of `train` (N, ...) at T y against
    T IdealDenoiser(train)(y), for y (B, ...). None (and why, in the note) where the optimum has no cheap form."""
    if train is None:
        raise ValueError(f"the {space}-space optimum needs the training set (train=...)")
    optimum = transform_optimum(train, transform, params, space)
    if not optimum.available:
        return None, optimum.note
    if space == "noisy" and not transform.affine and not _invertible_at(transform, params, y):
        return None, (f"noisy-space optimum not available here: {transform.name} saturates at this sigma (T y rounds "
                      "to the edge of T's image in float64, where T^-1 is infinite); lower sigma or the strength")
    result = equivariance_check(optimum, IdealDenoiser(train), transform, params, y, sigma)
    note = optimum.note + f" (training set of {train.shape[0]})"
    if not transform.affine and transform.invertible:
        note += JENSEN_NOTE
    return result, note


def _invertible_at(transform, params, y: torch.Tensor) -> bool:
    """Whether T^-1(T y) is finite for every row of y (a squashing map such as tanh saturates for large |y|)."""
    rows = params.expand(y.shape[0], -1)
    try:
        return bool(torch.isfinite(transform.inverse(transform.apply(y, rows), rows)).all())
    except ValueError:                     # outside the image: the transform's own domain check
        return False


def model_equivariance(model, transform, params, y: torch.Tensor, sigma: float, sampler=None):
    """(Equivariance or None, note): model(T y; sigma, omega_T) against T model(y; sigma, 0); omega_T from the
    model's sampler (zeros on both sides where it never saw T). None where the model cannot take this data."""
    model = as_denoiser(model)
    note = "model: D(T y; sigma, omega_T) vs T D(y; sigma, 0)"
    omega_t = omega_0 = None
    if model.omega_dim > 0:
        if sampler is None:
            raise ValueError("the model is conditioned on omega: pass the TransformSampler it was trained with "
                             "(sampler=...), so that omega_T can be encoded")
        omega_0 = torch.zeros(y.shape[0], sampler.omega_dim)
        if sampler.transforms[0].event_ndim == transform.event_ndim and transform.name in sampler.names:
            omega_t = sampler.omega_for(transform.name, params.float().expand(y.shape[0], -1))
        else:
            omega_t = omega_0
            note += f" | the model was not trained with {transform.name}: omega = 0 on both sides"
    else:
        note += " | the model is not conditioned on omega"
    try:
        return equivariance_check(model, model, transform, params, y, sigma, omega_t, omega_0), note
    except (ValueError, RuntimeError) as err:   # a model of another data shape
        return None, f"the model cannot denoise this data: {err}"


# --- the report -----------------------------------------------------------------------------------------
@dataclass
class NoiseReport:
    """Everything the transform explorers show (shapes: B items of shape S, K noise draws)."""

    x0: torch.Tensor                  # (B, *S) clean data
    noisy: torch.Tensor               # (B, *S) y = x0 + sigma n_1
    t_x0: torch.Tensor                # (B, *S) T(x0)
    noisy_space: torch.Tensor         # (B, *S) T(x0 + sigma n_1)
    clean_space: torch.Tensor         # (B, *S) T(x0) + sigma n_1
    reference: torch.Tensor           # (K, B, *S) the draws n_k
    effective: torch.Tensor           # (K, B, *S) (T(x0 + sigma n_k) - T(x0)) / sigma
    histogram: dict                   # edges (41,), effective (40,), reference (40,): densities in units of sigma
    statistics: object                # linear.ImageNoiseSummary | linear.PointNoiseSummary | None (non-linear image T)
    equivariance: Equivariance | None  # None: no denoiser asked for, or not available (see note)
    note: str                         # which denoiser, the formula used, or why there is none
    sigma: float

    @property
    def available(self) -> bool:
        return self.equivariance is not None

    @property
    def equivariance_error(self) -> float:
        return self.equivariance.error if self.available else float("nan")

    @property
    def equivariance_relative(self) -> float:
        return self.equivariance.relative if self.available else float("nan")

    @property
    def error_map(self) -> torch.Tensor | None:
        """|D(T y) - T D(y)|: (H, W) over the channels of the first image, or (B,) per point."""
        if not self.available:
            return None
        diff = self.equivariance.difference
        return diff[0].norm(dim=0) if diff.ndim == 4 else diff.reshape(diff.shape[0], -1).norm(dim=1)


def _histogram(values: torch.Tensor) -> np.ndarray:
    return np.histogram(values.reshape(-1).numpy(), HIST_BINS, density=True)[0]


def _statistics(transform, params, x0, sigma, noise):
    if transform.event_ndim == 3:
        return image_noise_summary(transform, params, *x0.shape[-2:]) if transform.linear else None
    return point_noise_summary(transform, params, x0, sigma, noise)


def noise_report(transform, params, x0: torch.Tensor, sigma: float, noise: torch.Tensor, denoiser=None,
                 train: torch.Tensor | None = None, sampler=None) -> NoiseReport:
    """The report of the module docstring. params (1, n_params); x0 (B, *S); noise (K, B, *S) (noise_draws);
    denoiser: None, "noisy", "clean" (then `train` (N, *S) is needed) or a model (`sampler` when it reads omega)."""
    sigma = V.number("sigma", sigma, 0, low_open=True)
    params = transform.check_params(torch.as_tensor(params, dtype=torch.float64).reshape(1, -1), 1)
    x0 = V.batch("x0", x0).double()
    V.batch("noise", noise)
    if noise.ndim != x0.ndim + 1 or tuple(noise.shape[1:]) != tuple(x0.shape):
        raise ValueError(f"noise must be (K, *x0.shape) = (K, {tuple(x0.shape)}), got {tuple(noise.shape)}")
    noise = noise.double()
    batch, k = x0.shape[0], noise.shape[0]
    # T(x0) and T(x0 + sigma n_k) for every draw in one call
    stacked = torch.cat([x0, (x0.unsqueeze(0) + sigma * noise).reshape(-1, *x0.shape[1:])])
    V.finite_tensor(f"x0 + sigma n at sigma = {sigma:g}", stacked)
    mapped = transform.apply(stacked, params.expand(stacked.shape[0], -1))
    t_x0, t_noisy = mapped[:batch], mapped[batch:].reshape(k, *x0.shape)
    noisy = x0 + sigma * noise[0]
    effective = (t_noisy - t_x0.unsqueeze(0)) / sigma
    V.finite_tensor(f"the effective noise (T(x0 + sigma n) - T(x0)) / sigma at sigma = {sigma:g}", effective)
    if denoiser is None:
        equivariance, note = None, "no denoiser"
    elif isinstance(denoiser, str):
        if denoiser not in OPTIMA:
            raise ValueError(f"denoiser must be one of {', '.join(OPTIMA)} or a model, got {denoiser!r}")
        equivariance, note = optimum_equivariance(denoiser, train, transform, params, noisy, sigma)
    else:
        equivariance, note = model_equivariance(denoiser, transform, params, noisy, sigma, sampler)
    return NoiseReport(
        x0=x0, noisy=noisy, t_x0=t_x0, noisy_space=t_noisy[0], clean_space=t_x0 + sigma * noise[0],
        reference=noise, effective=effective,
        histogram=dict(edges=HIST_BINS, effective=_histogram(effective), reference=_histogram(noise)),
        statistics=_statistics(transform, params, x0, sigma, noise), equivariance=equivariance, note=note,
        sigma=sigma)


__all__ = ["HIST_BINS", "OPTIMA", "NoiseReport", "noise_report", "noise_draws", "transform_for",
           "optimum_equivariance", "model_equivariance"]
