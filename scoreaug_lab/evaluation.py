"""Evaluate a trained run: sample with omega = 0 (the identity), then measure memorisation, the
distance to fresh data, the train/held-out denoising gap per sigma band and the oracle errors."""
from __future__ import annotations

import torch

from .metrics import MMD_BANDWIDTHS, memorisation, mmd_rbf, oracle_errors, overfitting_gap, sliced_wasserstein
from .sampling import sample


def draw_samples(model, data_shape, seeds, device=None, **sampler_kwargs) -> torch.Tensor:
    """Samples (len(seeds), *data_shape) on the CPU, one per seed, omega = identity."""
    device = device or next(model.parameters()).device
    return sample(model, data_shape, seeds, device=device, **sampler_kwargs).cpu()


def evaluate_points(model, data, samples: torch.Tensor, n_per_band: int = 512, seed: int = 0) -> dict:
    """The toy-path metrics as one JSON-able dict."""
    fresh = data.heldout
    result = {
        "n_samples": int(samples.shape[0]),
        "memorisation": memorisation(samples, data.train),
        "memorisation_of_fresh_data": memorisation(fresh[: samples.shape[0]], data.train),
        "sliced_wasserstein_to_fresh": sliced_wasserstein(samples, fresh, seed=seed),
        "mmd2_to_fresh": mmd_rbf(samples[:2000], fresh[:2000]),
        "mmd_kernel": f"sum of Gaussian kernels, bandwidths {list(MMD_BANDWIDTHS)}",
        "loss_by_band": overfitting_gap(model, data.train, data.heldout, n_per_band=n_per_band, seed=seed),
        "oracle_error_by_band": oracle_errors(model, data.train, data.heldout, truth=data.truth,
                                              n_per_band=n_per_band, seed=seed),
    }
    return result
