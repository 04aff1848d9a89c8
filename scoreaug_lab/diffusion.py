"""Noise levels, EDM preconditioning and the training loss for every cell of the augmentation grid.

The formulation is EDM's (Karras et al. 2022), re-derived here (not copied):

    x_noisy = x0 + sigma * n,                n ~ N(0, I)
    D(x; sigma) = c_skip * x + c_out * F(c_in * x; c_noise)

    c_skip  = sd^2 / (s^2 + sd^2)            c_out = s * sd / sqrt(s^2 + sd^2)
    c_in    = 1 / sqrt(s^2 + sd^2)           c_noise = ln(s) / 4
    lambda  = (s^2 + sd^2) / (s * sd)^2      (so lambda * c_out^2 = 1)
    ln s ~ N(P_mean, P_std^2), P_mean = -1.2, P_std = 1.2

with s = sigma and sd = sigma_data. `scoreaug_lab.symbolic.edm` proves the identities with sympy.

The grid of variants (see `VARIANTS`), with T one transform drawn per sample and omega its code:

    noaug        input x0 + sigma*n           target x0      condition -
    clean        input T(x0) + sigma*n        target T(x0)   condition -
    clean-omega  input T(x0) + sigma*n        target T(x0)   condition omega  (EDM non-leaking aug)
    noisy        input T(x0 + sigma*n)        target T(x0)   condition -
    scoreaug     input T(x0 + sigma*n)        target T(x0)   condition omega  (ScoreAug)
    combined     input Tn(Tc(x0) + sigma*n)   target Tn(Tc(x0))  condition [omega_c, omega_n]
                 (both: EDM-style clean-space transforms Tc and ScoreAug's noisy-space Tn, each told; see
                 transforms.two_stage)
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

P_MEAN = -1.2
P_STD = 1.2
SIGMA_DATA = 0.5


def edm_coefficients(sigma: torch.Tensor, sigma_data: float = SIGMA_DATA):
    """Return (c_skip, c_out, c_in, c_noise) for noise level(s) `sigma` (any shape)."""
    sigma = torch.as_tensor(sigma)
    if not torch.compiler.is_compiling() and sigma.device.type == "cpu" and not (
            torch.isfinite(sigma).all() and (sigma > 0).all()):
        raise ValueError("sigma must be finite and > 0 for the EDM coefficients")  # no sync: CPU values only
    total = sigma**2 + sigma_data**2
    c_skip = sigma_data**2 / total
    c_out = sigma * sigma_data / total.sqrt()
    c_in = 1.0 / total.sqrt()
    c_noise = sigma.log() / 4.0
    return c_skip, c_out, c_in, c_noise


def loss_weight(sigma: torch.Tensor, sigma_data: float = SIGMA_DATA) -> torch.Tensor:
    """lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma * sigma_data)^2."""
    sigma = torch.as_tensor(sigma)
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def sample_sigma(batch: int, generator: torch.Generator | None = None, *, p_mean: float = P_MEAN,
                 p_std: float = P_STD, device=None, dtype=torch.float32) -> torch.Tensor:
    """Training noise levels: ln sigma ~ N(p_mean, p_std^2), shape (batch,)."""
    z = torch.randn(batch, generator=generator, device=device, dtype=dtype)
    return (p_mean + p_std * z).exp()


def expand_sigma(sigma, x: torch.Tensor) -> torch.Tensor:
    """Broadcast a scalar or (B,) sigma to (B, 1, ..., 1) against x of shape (B, ...)."""
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if sigma.ndim == 0:
        sigma = sigma.expand(x.shape[0])
    if sigma.shape != (x.shape[0],):
        raise ValueError(f"sigma must be a scalar or have shape ({x.shape[0]},), got {tuple(sigma.shape)}")
    return sigma.reshape(-1, *([1] * (x.ndim - 1)))


@dataclass(frozen=True)
class Variant:
    """One cell of the grid: where the transform acts and whether the model sees omega."""

    name: str
    space: str | None  # None (no augmentation), "clean", "noisy" or "both" (clean-space, then noisy-space)
    conditioned: bool

    @property
    def augmented(self) -> bool:
        return self.space is not None


VARIANTS = {
    "noaug": Variant("noaug", None, False),
    "clean": Variant("clean", "clean", False),
    "clean-omega": Variant("clean-omega", "clean", True),
    "noisy": Variant("noisy", "noisy", False),
    "scoreaug": Variant("scoreaug", "noisy", True),
    "combined": Variant("combined", "both", True),
}
VARIANT_ALIASES = {"none": "noaug", "noisy-omega": "scoreaug", "edm-aug": "clean-omega"}


def get_variant(name: str | Variant) -> Variant:
    """Look a variant up by name (or alias); a clear ValueError for an unknown one."""
    if isinstance(name, Variant):
        return name
    key = VARIANT_ALIASES.get(name, name)
    if key not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose one of {', '.join(VARIANTS)}")
    return VARIANTS[key]


@dataclass
class LossBatch:
    """What one loss evaluation fed the model, kept for tests and live plots."""

    loss: torch.Tensor          # scalar
    per_sample: torch.Tensor    # (B,) weighted squared error
    model_input: torch.Tensor   # (B, ...) the noisy (possibly transformed) input
    target: torch.Tensor        # (B, ...) T(x0) (or x0)
    sigma: torch.Tensor         # (B,)
    omega: torch.Tensor | None  # (B, omega_dim) or None when the model is not conditioned


@dataclass
class TrainingRandomness:
    """Every random number of one training batch: noise levels, unit noises and the transform draw.

    The caller draws it (`draw_training_randomness`) and the loss only consumes it (the k-diffusion
    contract). Drawn once for a whole (global) batch, then sliced with `select`, so that gradient
    accumulation and data-parallel ranks see exactly the numbers one full batch would."""

    sigma: torch.Tensor                   # (B,) noise levels
    noise: torch.Tensor                   # (B, ...) unit Gaussian noise n, the input holds sigma * n
    transform_draw: object | None = None  # transforms.Draw (one transform per sample), None without augmentation

    def select(self, idx) -> "TrainingRandomness":
        draw = None if self.transform_draw is None else self.transform_draw.select(idx)
        return TrainingRandomness(self.sigma[idx], self.noise[idx], draw)


def draw_training_randomness(shape, variant: str | Variant, augment=None, generator: torch.Generator | None = None,
                             device=None, dtype=torch.float32,
                             augment_generator: torch.Generator | None = None) -> TrainingRandomness:
    """sigma ~ lognormal, n ~ N(0, I) of `shape` (B, ...) from `generator`, then one transform per sample when
    the variant augments (`augment`: a transforms.TransformSampler) from `augment_generator` (default:
    `generator`). With a separate augment_generator, sigma and the noise do not depend on whether or how a
    run augments: arms trained under one seed see the same sigma and noise at every step."""
    variant = get_variant(variant)
    sigma = sample_sigma(shape[0], generator, device=device, dtype=dtype)
    noise = torch.randn(shape, generator=generator, device=device, dtype=dtype)
    draw = None
    if variant.augmented:
        _need_transforms(variant, augment)
        draw = augment.draw(shape[0], generator=augment_generator or generator, device=device)
    return TrainingRandomness(sigma, noise, draw)


def _need_transforms(variant: Variant, augment) -> None:
    if augment is None:
        raise ValueError(f"variant {variant.name!r} needs transforms; none were given")


def make_training_pair(x0: torch.Tensor, randomness: TrainingRandomness, variant: str | Variant, augment=None):
    """(model input, target, omega) of one batch x0 (B, ...) for a cell of the grid (module docstring).
    omega is None when the variant does not condition on the transform."""
    variant = get_variant(variant)
    sig = expand_sigma(randomness.sigma, x0)
    if not variant.augmented:
        return x0 + sig * randomness.noise, x0, None
    _need_transforms(variant, augment)
    draw = randomness.transform_draw
    if draw is None:
        raise ValueError(f"variant {variant.name!r} needs a transform draw in its training randomness")
    if variant.space == "clean":
        target = augment.apply_unchecked(x0, draw)
        model_input = target + sig * randomness.noise
    elif variant.space == "both":  # clean-space transform, noise, then noisy-space transform (two_stage)
        if not hasattr(augment, "training_pair"):
            raise ValueError(f"variant {variant.name!r} needs a TwoStageSampler (clean and noisy stages)")
        target, model_input = augment.training_pair(x0, sig * randomness.noise, draw)
    else:  # noisy space: transform the noisy sample itself, in one pass with the target
        target, model_input = augment.apply_pair(x0, x0 + sig * randomness.noise, draw)
    omega = augment.encode(draw) if variant.conditioned else None
    return model_input, target, omega


def check_loss_inputs(x0: torch.Tensor, randomness: TrainingRandomness) -> None:
    """Clear errors for a batch the loss cannot use (one host sync: call it where data enters, not per step)."""
    if x0.ndim < 2 or x0.shape[0] < 1:
        raise ValueError(f"x0 must be a non-empty batch (B, ...), got shape {tuple(x0.shape)}")
    if randomness.sigma.shape != (x0.shape[0],) or randomness.noise.shape != x0.shape:
        raise ValueError(f"sigma must be ({x0.shape[0]},) and noise {tuple(x0.shape)}, got "
                         f"{tuple(randomness.sigma.shape)} and {tuple(randomness.noise.shape)}")
    if not torch.isfinite(x0).all():
        raise ValueError("x0 contains NaN or infinite values")
    if not (torch.isfinite(randomness.sigma).all() and (randomness.sigma > 0).all()):
        raise ValueError("sigma must be finite and > 0")


def diffusion_loss(model, x0: torch.Tensor, randomness: TrainingRandomness, variant: str | Variant = "noaug",
                   augment=None, labels: torch.Tensor | None = None, sigma_data: float | None = None,
                   check: bool = True) -> LossBatch:
    """EDM-weighted denoising loss lambda(sigma) * mean ||D(input; sigma, omega) - target||^2 of one batch.

    x0 (B, ...) clean data; `randomness` (from `draw_training_randomness`) holds every random number, so a
    run is reproducible and resumable bit for bit. The error is computed in x0's precision (float64 stays
    float64), at least float32 (bf16/fp16 outputs under autocast are promoted). check=False skips the
    input checks (the training loop validates its data once, where it enters)."""
    variant = get_variant(variant)
    if check:
        check_loss_inputs(x0, randomness)
    sd = model.sigma_data if sigma_data is None else sigma_data
    model_input, target, omega = make_training_pair(x0, randomness, variant, augment)
    denoised = model(model_input, randomness.sigma, omega=omega, labels=labels)
    work = torch.promote_types(x0.dtype, torch.float32)
    sq = (denoised.to(work) - target.to(work)) ** 2
    per_sample = loss_weight(randomness.sigma.to(work), sd) * sq.reshape(sq.shape[0], -1).mean(dim=1)
    return LossBatch(per_sample.mean(), per_sample, model_input, target, randomness.sigma, omega)


def sigma_bands(edges=(0.002, 0.05, 0.2, 1.0, 5.0, 80.0)):
    """Consecutive (low, high) noise-level bands used by the per-band metrics."""
    return list(zip(edges[:-1], edges[1:]))
