"""Deterministic and stochastic samplers for the probability-flow ODE dx/dsigma = (x - D(x; sigma)) / sigma.

Noise levels (EDM): sigma_i = (smax^(1/rho) + i/(N-1) (smin^(1/rho) - smax^(1/rho)))^rho, i < N, then 0.
Heun: an Euler step, then a trapezoidal correction where sigma_next > 0, so 18 steps cost 35
denoiser evaluations. Churn (EDM's stochastic sampler): before a step, raise sigma to
sigma_hat = sigma (1 + gamma) by adding fresh noise of variance sigma_hat^2 - sigma^2.

Each sample owns its seed: sample i draws all its noise from seed i, so it is the same whatever
batch it is generated in. Samplers are generators yielding the trajectory (for live plots);
`sample` runs one to the end.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import torch

from . import validation as V

METHODS = ("heun", "euler")
MAX_SEEDS = 10_000_000      # a seed list longer than this is a typo (sample in parts)


def edm_sigma_steps(num_steps: int = 18, sigma_min: float = 0.002, sigma_max: float = 80.0,
                    rho: float = 7.0, device=None) -> torch.Tensor:
    """(num_steps + 1,) decreasing noise levels ending in 0."""
    V.integer("num_steps", num_steps, 1, 10_000)
    V.number("sigma_min", sigma_min, 0.0, low_open=True)
    V.number("sigma_max", sigma_max, 0.0, 1e6, low_open=True)
    if not sigma_min < sigma_max:
        raise ValueError(f"need sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    V.number("rho", rho, 0.0, 1e3, low_open=True)
    i = torch.arange(num_steps, dtype=torch.float64)
    frac = i / max(num_steps - 1, 1)
    sig = (sigma_max ** (1 / rho) + frac * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([sig, torch.zeros(1, dtype=torch.float64)]).to(device)


class SeededNoise:
    """Per-sample random streams: row i of every draw comes from its own generator seeded with seeds[i].

    Rows are drawn in float64 on the CPU (the same numbers whatever dtype or device is asked for) straight
    into one buffer. The first draw, often the only one (the start noise of a deterministic sampler),
    reseeds a single generator per row instead of keeping one generator per seed; a later draw (churn)
    creates the per-seed generators then, replaying the draws so far to continue each stream, so every
    draw holds exactly the numbers of one generator per seed kept from the start."""

    def __init__(self, seeds, device=None):
        self.seeds = [int(s) for s in seeds]
        if not self.seeds:
            raise ValueError("at least one seed is needed")
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.generators = None   # one per seed, created at the second draw
        self._drawn = []         # the shapes drawn so far (replayed when the generators are created)

    def __len__(self) -> int:
        return len(self.seeds)

    def randn(self, sample_shape, dtype=torch.float32) -> torch.Tensor:
        sample_shape = tuple(sample_shape)
        out = torch.empty((len(self.seeds), *sample_shape), dtype=torch.float64)
        if not self._drawn:
            g = torch.Generator()
            for seed, row in zip(self.seeds, out):
                g.manual_seed(seed)
                row.normal_(generator=g)
        else:
            if self.generators is None:
                self.generators = [torch.Generator().manual_seed(s) for s in self.seeds]
                for shape in self._drawn:
                    scratch = torch.empty(shape, dtype=torch.float64)
                    for g in self.generators:
                        scratch.normal_(generator=g)
            for g, row in zip(self.generators, out):
                row.normal_(generator=g)
        self._drawn.append(sample_shape)
        return out.to(device=self.device, dtype=dtype)


def parse_seeds(text: str) -> list[int]:
    """'0-99' -> [0, ..., 99]; '1,5,7' -> [1, 5, 7]; '0-3,10' -> [0, 1, 2, 3, 10]."""
    seeds = []
    for part in str(text).split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        try:
            first, last = (int(lo), int(hi)) if dash else (int(part), int(part))
        except ValueError:
            raise ValueError(f"bad seed list {text!r}: use forms like '0-99' or '1,5,7'") from None
        if last < first:
            raise ValueError(f"bad seed range {part!r} in {text!r}: the end comes before the start")
        V.seed("a seed", first)
        V.seed("a seed", last)
        if len(seeds) + last - first + 1 > MAX_SEEDS:
            raise ValueError(f"seed list {text!r} holds more than {MAX_SEEDS:,} seeds; sample in parts")
        seeds.extend(range(first, last + 1))
    if not seeds:
        raise ValueError(f"empty seed list {text!r}")
    return seeds


@torch.no_grad()
def sample_trajectory(model, sample_shape, seeds, *, num_steps: int = 18, sigma_min: float = 0.002,
                      sigma_max: float = 80.0, rho: float = 7.0, method: str = "heun", churn: float = 0.0,
                      churn_min: float = 0.0, churn_max: float = math.inf, noise_scale: float = 1.0,
                      omega: torch.Tensor | None = None, labels: torch.Tensor | None = None, device=None,
                      dtype=torch.float32):
    """Yield the state after each step: SimpleNamespace(step, sigma, sigma_next, x, denoised, nfe, x_start).

    `model(x, sigma, omega=None, labels=None)` is any denoiser; sample_shape excludes the batch,
    which is one sample per seed. omega defaults to None (the identity: all zeros). x_start (B, *sample_shape)
    is the start noise sigma_0 n drawn from the seeds (the same tensor in every state: a trajectory's first point).
    """
    if method not in METHODS:
        raise ValueError(f"unknown sampler {method!r}; choose one of {', '.join(METHODS)}")
    V.number("churn", churn, 0.0, 1e3)
    V.number("noise_scale", noise_scale, 0.0, 10.0)
    if math.isnan(churn_min) or math.isnan(churn_max) or churn_min < 0:
        raise ValueError(f"need 0 <= churn_min and numbers for churn_min, churn_max; got {churn_min}, {churn_max}")
    noise = SeededNoise(seeds, device)
    sigmas = edm_sigma_steps(num_steps, sigma_min, sigma_max, rho)
    levels = sigmas.tolist()   # Python floats, read once rather than one tensor access per step
    x = x_start = noise.randn(sample_shape, dtype) * levels[0]
    nfe = 0

    def denoise(x, s):
        nonlocal nfe
        nfe += 1
        out = model(x, torch.full((x.shape[0],), s, dtype=dtype, device=x.device), omega=omega, labels=labels)
        if not torch.isfinite(out).all():  # one check per network call: never carry NaN samples on silently
            raise ValueError(f"the denoiser returned NaN or infinite values at sigma = {s:.4g}: its weights may be "
                             "corrupt or its training diverged; no samples")
        return out.to(dtype)

    for i in range(num_steps):
        s_cur, s_next = levels[i], levels[i + 1]
        gamma = min(churn / num_steps, math.sqrt(2) - 1) if churn_min <= s_cur <= churn_max else 0.0
        s_hat = s_cur * (1 + gamma)
        if gamma > 0:
            x = x + math.sqrt(s_hat**2 - s_cur**2) * noise_scale * noise.randn(sample_shape, dtype)
        denoised = denoise(x, s_hat)
        d = (x - denoised) / s_hat
        x_next = x + (s_next - s_hat) * d
        if method == "heun" and s_next > 0:
            denoised_next = denoise(x_next, s_next)
            d_next = (x_next - denoised_next) / s_next
            x_next = x + (s_next - s_hat) * 0.5 * (d + d_next)
        x = x_next
        yield SimpleNamespace(step=i + 1, sigma=s_hat, sigma_next=s_next, x=x, denoised=denoised, nfe=nfe,
                              x_start=x_start)


def sample(model, sample_shape, seeds, **kwargs) -> torch.Tensor:
    """Run `sample_trajectory` to the end and return the final samples (len(seeds), *sample_shape)."""
    state = None
    for state in sample_trajectory(model, sample_shape, seeds, **kwargs):
        pass
    return state.x
