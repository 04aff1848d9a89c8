"""One run of the sampler on 2-D (or any flat) data, and how good its samples are: the numbers behind
widgets.SamplerExplorer.

`sampler_report` starts from `sampling.start_noise` (one seed per sample), runs `sampling.steps` and keeps the
whole path of the first few samples, and measures the samples against fresh data (exact
sliced Wasserstein distance, metrics.sliced_wasserstein) and against the training points (metrics.memorisation:
the share of samples that copy a training point).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import validation as V
from ..denoiser import as_denoiser
from ..evaluate.metrics import memorisation, sliced_wasserstein
from ..sampling import METHODS, edm_sigma_steps, start_noise, steps


@dataclass
class SamplerReport:
    """Samples, a few trajectories, the noise levels, and the two quality measures."""

    samples: torch.Tensor             # (N, d) float32 on the CPU
    trajectories: torch.Tensor        # (T, steps + 1, d): start noise, then the state after every step
    sigmas: torch.Tensor              # (steps + 1,) float64, the last one 0
    nfe: int                          # denoiser calls
    sliced_wasserstein: float         # to the reference samples (NaN with fewer than 2 finite samples)
    memorised_fraction: float         # share of samples whose nearest training point is a copy (NaN: none finite)
    mean_nn_distance: float           # mean distance to the nearest training point


def check_settings(num_steps: int, sigma_min: float, sigma_max: float, rho: float, method: str, churn: float) -> dict:
    """The sampler settings as a dict, or a ValueError naming the one that is missing, not finite or out of range
    (NaN would pass the sampler's own range checks and give NaN samples)."""
    settings = dict(num_steps=V.integer("num_steps", num_steps, 1), rho=V.number("rho", rho, 0, low_open=True),
                    sigma_min=V.number("sigma_min", sigma_min, 0, low_open=True),
                    sigma_max=V.number("sigma_max", sigma_max, 0, low_open=True),
                    churn=V.number("churn", churn, 0), method=method)
    if method not in METHODS:
        raise ValueError(f"unknown sampler {method!r}; choose one of {', '.join(METHODS)}")
    if not sigma_min < sigma_max:
        raise ValueError(f"sigma_min must be below sigma_max, got {sigma_min:g} and {sigma_max:g}")
    return settings


def sampler_report(model, seeds, reference: torch.Tensor, train: torch.Tensor, n_trajectories: int = 8,
                   n_projections: int = 64, *, num_steps: int = 18, sigma_min: float = 0.002, sigma_max: float = 80.0,
                   rho: float = 7.0, method: str = "heun", churn: float = 0.0) -> SamplerReport:
    """Sample one point per seed (shape of the reference's rows) with `model` and report (see SamplerReport).
    reference (M, d) fresh data, train (N, d) the training points."""
    settings = check_settings(num_steps, sigma_min, sigma_max, rho, method, churn)
    reference = V.batch("reference", reference)
    seeds = V.seeds("seeds", seeds, 8 * reference[0].numel())     # the float64 start noise, checked first
    n_traj = min(V.integer("n_trajectories", n_trajectories, 0), len(seeds))
    V.count("n_projections", n_projections, 8 * (len(seeds) + len(reference) + reference[0].numel()))
    model = as_denoiser(model)
    sigmas = edm_sigma_steps(settings["num_steps"], sigma_min, sigma_max, rho)
    x, noise = start_noise(tuple(reference.shape[1:]), seeds, sigmas[0].item(), device=model.device)
    path, state = [x[:n_traj].cpu()], None
    for state in steps(model, x, sigmas, method=method, churn=settings["churn"], noise=noise):
        path.append(state.x[:n_traj].cpu())
    samples = state.x.cpu().float()
    finite = samples[torch.isfinite(samples).all(1)]
    swd = sliced_wasserstein(finite, reference, n_projections=n_projections) if finite.shape[0] >= 1 else float("nan")
    mem = memorisation(finite, train) if finite.shape[0] else {"memorised_fraction": float("nan"),
                                                               "mean_nn_distance": float("nan")}
    return SamplerReport(samples, torch.stack(path, dim=1).float(), sigmas, state.nfe, swd, **mem)


__all__ = ["SamplerReport", "sampler_report", "check_settings"]
