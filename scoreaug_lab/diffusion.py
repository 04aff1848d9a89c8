"""Noise levels, EDM preconditioning and the training loss for every cell of the augmentation grid.

The formulation is EDM's (Karras et al. 2022), re-derived here (not copied):

    x_noisy = x0 + sigma * n,                n ~ N(0, I)
    D(x; sigma) = c_skip * x + c_out * F(c_in * x; c_noise)

    c_skip  = sd^2 / (s^2 + sd^2)            c_out = s * sd / sqrt(s^2 + sd^2)
    c_in    = 1 / sqrt(s^2 + sd^2)           c_noise = ln(s) / 4
    lambda  = (s^2 + sd^2) / (s * sd)^2      (so lambda * c_out^2 = 1)
    ln s ~ N(P_mean, P_std^2), P_mean = -1.2, P_std = 1.2

with s = sigma and sd = sigma_data. `scoreaug_lab.symbolic` proves the identities with sympy.

The grid of variants (see `VARIANTS`), with T one transform drawn per sample and omega its code:

    noaug        input x0 + sigma*n           target x0      condition -
    clean        input T(x0) + sigma*n        target T(x0)   condition -
    clean-omega  input T(x0) + sigma*n        target T(x0)   condition omega  (EDM non-leaking aug)
    noisy        input T(x0 + sigma*n)        target T(x0)   condition -
    scoreaug     input T(x0 + sigma*n)        target T(x0)   condition omega  (ScoreAug)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

P_MEAN = -1.2
P_STD = 1.2
SIGMA_DATA = 0.5


def edm_coefficients(sigma: torch.Tensor, sigma_data: float = SIGMA_DATA):
    """Return (c_skip, c_out, c_in, c_noise) for noise level(s) `sigma` (any shape)."""
    sigma = torch.as_tensor(sigma)
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
    space: str | None  # None (no augmentation), "clean" or "noisy"
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
class TrainingNoise:
    """The randomness of one training batch: noise levels, noises and the transform draw.

    Drawn once for a whole (global) batch, then sliced, so that gradient accumulation and data-parallel
    ranks see exactly the numbers a single full batch would."""

    sigma: torch.Tensor          # (B,)
    noise: torch.Tensor          # (B, ...)
    draw: object | None = None   # transforms.Draw, or None without augmentation

    def select(self, idx) -> "TrainingNoise":
        return TrainingNoise(self.sigma[idx], self.noise[idx], None if self.draw is None else self.draw.select(idx))


def draw_training_noise(shape, variant: Variant, augment=None, generator: torch.Generator | None = None,
                        device=None, dtype=torch.float32) -> TrainingNoise:
    """sigma ~ lognormal, n ~ N(0, I) of `shape` (B, ...), and one transform per sample when augmenting."""
    sigma = sample_sigma(shape[0], generator, device=device, dtype=dtype)
    noise = torch.randn(shape, generator=generator, device=device, dtype=dtype)
    draw = None
    if variant.augmented:
        if augment is None:
            raise ValueError(f"variant {variant.name!r} needs transforms; none were given")
        draw = augment.draw(shape[0], generator=generator, device=device)
    return TrainingNoise(sigma, noise, draw)


def make_training_pair(x0: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor, variant: Variant,
                       augment=None, generator: torch.Generator | None = None, draw=None):
    """Build (input, target, omega) for one batch of the given variant.

    x0, noise: (B, ...); sigma: (B,). `augment` is a `TransformSampler` (needed for augmented variants);
    it draws one transform per sample (or the identity with probability 1 - p) and its omega, unless a
    `draw` is given.
    """
    sig = expand_sigma(sigma, x0)
    if not variant.augmented:
        return x0 + sig * noise, x0, None
    if augment is None:
        raise ValueError(f"variant {variant.name!r} needs transforms; none were given")
    if draw is None:
        draw = augment.draw(x0.shape[0], generator=generator, device=x0.device)
    if variant.space == "clean":
        target = augment.apply(x0, draw)
        model_input = target + sig * noise
    else:  # noisy space: transform the noisy sample itself
        target, model_input = augment.apply_pair(x0, x0 + sig * noise, draw)
    omega = augment.encode(draw) if variant.conditioned else None
    return model_input, target, omega


def diffusion_loss(model, x0: torch.Tensor, variant: str | Variant = "noaug", augment=None,
                   generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                   sigma_data: float | None = None, noise: TrainingNoise | None = None) -> LossBatch:
    """EDM-weighted denoising loss for one batch of clean data x0 (B, ...).

    All randomness (sigma, noise, transforms) comes from `generator`, or from a pre-drawn `noise`
    (see `draw_training_noise`), so a run is reproducible and resumable bit for bit.
    """
    variant = get_variant(variant)
    if not torch.isfinite(x0).all():
        raise ValueError("x0 contains NaN or infinite values")
    sd = sigma_data if sigma_data is not None else getattr(model, "sigma_data", SIGMA_DATA)
    if noise is None:
        noise = draw_training_noise(x0.shape, variant, augment, generator, x0.device, x0.dtype)
    model_input, target, omega = make_training_pair(x0, noise.sigma, noise.noise, variant, augment, draw=noise.draw)
    denoised = model(model_input, noise.sigma, omega=omega, labels=labels)
    sq = (denoised.float() - target.float()) ** 2
    per_sample = loss_weight(noise.sigma.float(), sd) * sq.reshape(sq.shape[0], -1).mean(dim=1)
    return LossBatch(per_sample.mean(), per_sample, model_input, target, noise.sigma, omega)


def sigma_bands(edges=(0.002, 0.05, 0.2, 1.0, 5.0, 80.0)):
    """Consecutive (low, high) noise-level bands used by the per-band metrics."""
    return list(zip(edges[:-1], edges[1:]))


def log_uniform_sigmas(n: int, low: float, high: float, generator=None) -> torch.Tensor:
    """n noise levels with ln sigma uniform on [ln low, ln high]."""
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    return torch.exp(math.log(low) + u * (math.log(high) - math.log(low))).float()
