"""Deterministic and stochastic samplers for the probability-flow ODE dx/dsigma = (x - D(x; sigma)) / sigma.

Noise levels (EDM): sigma_i = (smax^(1/rho) + i/(N-1) (smin^(1/rho) - smax^(1/rho)))^rho, i < N, then 0.
Heun: an Euler step, then a trapezoidal correction where sigma_next > 0, so 18 steps cost 35
denoiser evaluations. Churn (EDM's stochastic sampler): before a step, raise sigma to
sigma_hat = sigma (1 + gamma) by adding fresh noise of variance sigma_hat^2 - sigma^2.

The solvers take the start and the schedule, in k-diffusion's shape, so that any start works (T(noise) for a
leak measurement, a trajectory from a chosen point); `sample` draws a seeded start and runs one:

    sigmas = edm_sigma_steps(18)                       # (19,): 80 ... 0.002, then 0
    x = heun(model, x_start, sigmas, omega=omega)      # from x_start at sigmas[0] (k-diffusion's sample_heun)
    for state in steps(model, x_start, sigmas): ...    # the same loop, one state per step (plots, widgets)
    x = sample(model, (2,), seeds=range(100))          # start noise seeded per sample, then heun (or euler)

Each sample of `sample` owns its seed: sample i draws all its noise (start and churn) from seed i, so it is the
same whatever batch it is generated in.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from types import SimpleNamespace

import torch

from . import validation as V

METHODS = ("heun", "euler")
MAX_SEEDS = V.MAX_SEEDS     # a seed list longer than this is a typo (validation.MAX_SEEDS)
START_CACHE = 100_000       # start-noise rows kept (SeededNoise), least recently used dropped
CHUNK = 1024                # samples solved at once: `sample` draws more in parts (the same samples: each owns its seed)


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

    Rows are drawn in float64 on the CPU (the same numbers whatever dtype or device is asked for). The first
    draw, often the only one (the start noise of a deterministic sampler), is one generator reseeded per row,
    and each row is kept (`START_CACHE` rows, least recently used dropped): the same seeds drawn again in this
    process (a widget resampling, the store, a benchmark) cost a lookup. A later draw (churn) creates the
    per-seed generators then, replaying the draws so far to continue each stream, so every draw holds exactly the
    numbers of one generator per seed kept from the start."""

    _cache: OrderedDict = OrderedDict()          # (shape, seed) -> the first draw's row, float64
    _cache_lock = threading.Lock()

    def __init__(self, seeds, device=None):
        self.seeds = V.seeds("seeds", seeds)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.generators = None   # one per seed, created at the second draw
        self._drawn = []         # the shapes drawn so far (replayed when the generators are created)

    def __len__(self) -> int:
        return len(self.seeds)

    def _first(self, sample_shape: tuple) -> torch.Tensor:
        cache = SeededNoise._cache
        with SeededNoise._cache_lock:
            rows = [cache.get((sample_shape, seed)) for seed in self.seeds]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            g = torch.Generator()
            fresh = torch.empty((len(missing), *sample_shape), dtype=torch.float64)
            for i, row in zip(missing, fresh):
                g.manual_seed(self.seeds[i])
                row.normal_(generator=g)
                rows[i] = row
            with SeededNoise._cache_lock:
                for i in missing:
                    cache[sample_shape, self.seeds[i]] = rows[i]
                while len(cache) > START_CACHE:
                    cache.popitem(last=False)
        return torch.stack(rows)

    def randn(self, sample_shape, dtype=torch.float32) -> torch.Tensor:
        sample_shape = tuple(sample_shape)
        if not self._drawn:
            out = self._first(sample_shape)
        else:
            out = torch.empty((len(self.seeds), *sample_shape), dtype=torch.float64)
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


def _check_options(method: str, churn: float, churn_min: float, churn_max: float, noise_scale: float) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown sampler {method!r}; choose one of {', '.join(METHODS)}")
    V.number("churn", churn, 0.0, 1e3)
    V.number("noise_scale", noise_scale, 0.0, 10.0)
    if math.isnan(churn_min) or math.isnan(churn_max) or churn_min < 0:
        raise ValueError(f"need 0 <= churn_min and numbers for churn_min, churn_max; got {churn_min}, {churn_max}")


@torch.no_grad()
def steps(model, x: torch.Tensor, sigmas: torch.Tensor, *, method: str = "heun", omega=None, labels=None,
          churn: float = 0.0, churn_min: float = 0.0, churn_max: float = math.inf, noise_scale: float = 1.0,
          noise=None):
    """Solve from `x` (B, ...) at noise level sigmas[0] down the decreasing `sigmas` (ending in 0); yield
    SimpleNamespace(step, sigma, sigma_next, x, denoised, nfe) after each step.

    `model(x, sigma, omega=None, labels=None)` is any denoiser; omega None is the identity (all zeros). Churn draws
    fresh noise with `noise(x)` (default torch.randn_like; `sample` gives each sample's own stream)."""
    _check_options(method, churn, churn_min, churn_max, noise_scale)
    levels = [float(s) for s in sigmas.tolist()]   # Python floats: read once, not one tensor access per step
    n_steps, nfe = len(levels) - 1, 0
    noise = noise if noise is not None else torch.randn_like
    level = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)

    def denoise(x, s):
        nonlocal nfe
        nfe += 1
        out = model(x, level.fill_(s), omega=omega, labels=labels).to(x.dtype)
        if not math.isfinite(float(out.sum())):     # a sum is NaN or inf when any value is: one cheap check a call
            raise ValueError(f"the denoiser returned NaN or infinite values at sigma = {s:.4g}: its weights may be "
                             "corrupt or its training diverged; no samples")
        return out

    for i in range(n_steps):
        s_cur, s_next = levels[i], levels[i + 1]
        gamma = min(churn / n_steps, math.sqrt(2) - 1) if churn_min <= s_cur <= churn_max else 0.0
        s_hat = s_cur * (1 + gamma)
        if gamma > 0:
            x = x + math.sqrt(s_hat**2 - s_cur**2) * noise_scale * noise(x)
        denoised = denoise(x, s_hat)
        d = (x - denoised).div_(s_hat)                                  # dx/dsigma at sigma_hat
        x_next = torch.add(x, d, alpha=s_next - s_hat)                 # Euler
        if method == "heun" and s_next > 0:     # Heun's correction (none on the last step, to sigma = 0)
            d_next = (x_next - denoise(x_next, s_next)).div_(s_next)
            x_next = torch.add(x, d.add_(d_next), alpha=0.5 * (s_next - s_hat))
        x = x_next
        yield SimpleNamespace(step=i + 1, sigma=s_hat, sigma_next=s_next, x=x, denoised=denoised, nfe=nfe)


def _solve(model, x, sigmas, method: str, **options) -> torch.Tensor:
    for state in steps(model, x, sigmas, method=method, **options):
        x = state.x
    return x


def heun(model, x: torch.Tensor, sigmas: torch.Tensor, **options) -> torch.Tensor:
    """EDM's Heun sampler (Algorithm 2 with churn) from `x` at sigmas[0]: k-diffusion's sample_heun(model, x,
    sigmas); options as `steps`."""
    return _solve(model, x, sigmas, "heun", **options)


def euler(model, x: torch.Tensor, sigmas: torch.Tensor, **options) -> torch.Tensor:
    """The Euler sampler from `x` at sigmas[0] (one denoiser call per step)."""
    return _solve(model, x, sigmas, "euler", **options)


def start_noise(sample_shape, seeds, sigma: float, dtype=torch.float32, device=None) -> tuple:
    """(x_start, noise): sigma times unit noise, row i from seed i, and the per-sample streams that continue it
    (pass `noise` to a solver for churn)."""
    seeded = SeededNoise(seeds, device)
    V.count("the number of seeds", len(seeded), _item_bytes(sample_shape, torch.float64))
    x = seeded.randn(sample_shape, dtype) * sigma
    return x, lambda like: seeded.randn(like.shape[1:], like.dtype)


def _item_bytes(sample_shape, dtype) -> int:
    """Bytes of one sample of this shape and dtype (a bad shape is refused naming it)."""
    sizes = [V.integer("sample_shape", n, 1) for n in tuple(sample_shape)]
    return math.prod(sizes) * torch.empty((), dtype=dtype).element_size()


def _rows(value, start: int, stop: int, total: int):
    """A per-sample tensor (total, ...) cut to the rows of one chunk; anything else as it is."""
    return value[start:stop] if torch.is_tensor(value) and value.ndim and value.shape[0] == total else value


def sample(model, sample_shape, seeds, *, num_steps: int = 18, sigma_min: float = 0.002, sigma_max: float = 80.0,
           rho: float = 7.0, method: str = "heun", device=None, dtype=torch.float32, chunk: int = CHUNK,
           **options) -> torch.Tensor:
    """len(seeds) samples (B, *sample_shape), sample i from seed i: its start noise at sigma_max, then
    `method` ("heun" or "euler") down EDM's schedule of `num_steps` steps, `chunk` samples at a time; options as
    `steps` (omega and labels: one row per sample, or shared; churn, ...)."""
    _check_options(method, options.get("churn", 0.0), options.get("churn_min", 0.0),
                   options.get("churn_max", math.inf), options.get("noise_scale", 1.0))
    seeds = V.seeds("seeds", seeds, _item_bytes(sample_shape, dtype))   # the result's size, checked first
    V.integer("chunk", chunk, 1)
    sigmas = edm_sigma_steps(num_steps, sigma_min, sigma_max, rho)
    parts = []
    for start in range(0, len(seeds), chunk):
        part = seeds[start:start + chunk]
        x, noise = start_noise(tuple(sample_shape), part, sigmas[0].item(), dtype, device)
        rows = {k: _rows(v, start, start + len(part), len(seeds)) for k, v in options.items()}
        parts.append(_solve(model, x, sigmas, method, noise=noise, **rows))
    return parts[0] if len(parts) == 1 else torch.cat(parts)


__all__ = ["METHODS", "MAX_SEEDS", "CHUNK", "START_CACHE", "SeededNoise", "edm_sigma_steps", "euler", "heun", "parse_seeds", "sample",
           "start_noise", "steps"]
