"""Metrics: memorisation, distances between sample sets, denoising loss per sigma band (the
train/held-out gap), and the error of a learned denoiser against the oracles.

Kernel and distance definitions are stated where they are computed, and echoed in the outputs.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import validation as V
from ..denoiser import as_denoiser
from ..diffusion import loss_weight, sigma_bands
from ..oracles import transformed_pair
from ..scores import ideal_denoiser

MEMORISATION_RATIO = 1.0 / 3.0


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1).double()


def nearest_two(samples: torch.Tensor, train: torch.Tensor, chunk: int | None = None, device=None,
                candidates: int = 8) -> torch.Tensor:
    """Distances (S, 2) from each sample to its nearest and second-nearest training point, float64.

    Scales to images (e.g. 10k samples x 10k training images x 3072 pixels): candidates are found in
    float32 with one matrix product per chunk of samples (||a||^2 - 2 a.b + ||b||^2), then the distances
    to the `candidates` closest are recomputed exactly in float64, so rounding cannot swap the two
    nearest. Runs on `device` (default: the samples' device)."""
    V.batch("samples", samples)
    V.batch("train (the training set)", train)
    if train.shape[0] < 2:
        raise ValueError("memorisation needs at least 2 training points")
    if samples.shape[1:] != train.shape[1:]:
        raise ValueError(f"samples {tuple(samples.shape[1:])} and training points {tuple(train.shape[1:])} "
                         "differ in shape")
    device = torch.device(device) if device is not None else samples.device
    t32 = train.reshape(train.shape[0], -1).to(device, torch.float32)
    t_sq = (t32 * t32).sum(1)                                     # (N,)
    k = min(candidates, train.shape[0])
    chunk = chunk or max(1, min(2048, 2**25 // train.shape[0]))   # bounds the (chunk, N) distance matrix
    out = []
    for start in range(0, samples.shape[0], chunk):
        s32 = samples[start:start + chunk].reshape(-1, t32.shape[1]).to(device, torch.float32)
        sq = (s32 * s32).sum(1, keepdim=True) - 2 * s32 @ t32.T + t_sq[None]   # (chunk, N)
        idx = sq.topk(k, dim=1, largest=False).indices                         # (chunk, k)
        s64 = s32.double()
        exact = torch.stack([(s64 - t32[idx[:, j]].double()).norm(dim=1) for j in range(k)], 1)  # (chunk, k)
        out.append(exact.topk(2, dim=1, largest=False).values.cpu())
    return torch.cat(out)


def memorisation(samples: torch.Tensor, train: torch.Tensor, ratio: float = MEMORISATION_RATIO,
                 device=None) -> dict:
    """Fraction of samples whose nearest training point is closer than `ratio` times the second
    nearest (a copy of that point), and the mean distance to the nearest training point (Euclidean,
    over all coordinates: for images over all C*H*W pixels in [-1, 1])."""
    d = nearest_two(samples, train, device=device)
    memorised = d[:, 0] < ratio * d[:, 1]
    return {"memorised_fraction": memorised.double().mean().item(), "mean_nn_distance": d[:, 0].mean().item()}


def projection_directions(dim: int, n_projections: int = 256, seed: int = 0) -> torch.Tensor:
    """The P random unit directions (dim, P), float64, of the sliced distances: columns of
    torch.randn(dim, P) drawn from torch.Generator().manual_seed(seed), each divided by its norm
    (the same matrix can be given to a reference library, e.g. POT's `projections`)."""
    g = torch.Generator().manual_seed(seed)
    dirs = torch.randn(dim, n_projections, generator=g, dtype=torch.float64)
    return dirs / dirs.norm(dim=0, keepdim=True)


def projected_quantiles(x: torch.Tensor, n_projections: int = 256, seed: int = 0) -> torch.Tensor:
    """Sorted projections (N, P), float64, of the N points x (N, ...) on the P directions of
    `projection_directions(dim, n_projections, seed)`: column p is the exact quantile function of the
    projected empirical law (row i is its value on the cumulative weights (i/N, (i+1)/N]). Computed once per point
    set, a table can be compared with many others (`sliced_w2`)."""
    x = _flat(V.batch("the point set", x))
    proj = projection_directions(x.shape[1], n_projections, seed).to(x.device).T @ x.T     # (P, N)
    if proj.device.type == "cpu":                  # numpy's sort is about 10x faster than torch's on CPU
        return torch.from_numpy(np.sort(proj.numpy(), axis=1).T.copy())
    return proj.sort(dim=1).values.T.contiguous()


def _w2_squared(sa: torch.Tensor, sb: torch.Tensor) -> torch.Tensor:
    """Exact squared 1-D W2 (P,) between the uniform empirical laws of the sorted columns of sa (N, P)
    and sb (M, P): the integral over u in (0, 1) of (F_a^-1(u) - F_b^-1(u))^2 for the piecewise-constant
    quantile functions, summed over the merged intervals of cumulative weight."""
    n, m = sa.shape[0], sb.shape[0]
    if n == m:                                     # equal sizes: match the i-th smallest with the i-th
        return ((sa - sb) ** 2).mean(0)
    # breakpoints of both quantile functions, in units of 1 / (n m): a steps at i m, b at j n
    ends = torch.cat([torch.arange(1, n + 1, device=sa.device) * m,
                      torch.arange(1, m + 1, device=sa.device) * n]).unique()    # sorted
    starts = torch.cat([ends.new_zeros(1), ends[:-1]])
    width = (ends - starts).to(sa)[:, None] / (n * m)                                     # (K, 1)
    return (width * (sa[starts // m] - sb[starts // n]) ** 2).sum(0)


def sliced_w2(sorted_a: torch.Tensor, sorted_b: torch.Tensor) -> float:
    """Sliced 2-Wasserstein distance sqrt(mean_p W2(a_p, b_p)^2) from two `projected_quantiles` tables
    (N, P) and (M, P) of the same directions (same seed and P); N and M may differ. Each W2 is exact."""
    if sorted_a.shape[1:] != sorted_b.shape[1:] or min(sorted_a.shape[0], sorted_b.shape[0]) < 1:
        raise ValueError(f"tables {tuple(sorted_a.shape)} and {tuple(sorted_b.shape)} must be non-empty "
                         "with the same number of projections")
    return _w2_squared(sorted_a, sorted_b.to(sorted_a)).mean().sqrt().item()


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, n_projections: int = 256, seed: int = 0) -> float:
    """Sliced 2-Wasserstein distance between the uniform empirical laws of a (N, ...) and b (M, ...):
    sqrt of the mean over the P = n_projections unit directions of `projection_directions` (fixed by
    `seed`) of the squared 1-D W2 between the projections, each computed exactly (sorted values matched
    for N = M, exact quantile functions otherwise). A Monte-Carlo estimate of the sliced W2 over
    uniformly random directions; float64 throughout."""
    return sliced_w2(projected_quantiles(a, n_projections, seed), projected_quantiles(b, n_projections, seed))


MMD_BANDWIDTHS = (0.05, 0.1, 0.2, 0.5, 1.0)


def mmd_rbf(a: torch.Tensor, b: torch.Tensor, bandwidths=MMD_BANDWIDTHS) -> float:
    """Unbiased squared MMD with the kernel k(x, y) = sum_h exp(-||x - y||^2 / (2 h^2)) over the
    bandwidths h (a sum of Gaussian kernels, characteristic, so MMD = 0 only for equal laws)."""
    x, y = _flat(a), _flat(b)
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError("MMD needs at least 2 points in each set")

    def kernel(u, v):
        sq = torch.cdist(u, v) ** 2
        return sum(torch.exp(-sq / (2 * h**2)) for h in bandwidths)

    m, n = x.shape[0], y.shape[0]
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    term_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    term_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return (term_x + term_y - 2 * kxy.mean()).item()


def _band_sigmas(low: float, high: float, n: int, generator: torch.Generator) -> torch.Tensor:
    """n noise levels log-uniform in [low, high)."""
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    return torch.exp(math.log(low) + u * (math.log(high) - math.log(low)))


@torch.no_grad()
def denoising_loss_by_band(model, data: torch.Tensor, bands=None, n_per_band: int = 512, seed: int = 0,
                           batch_size: int = 512, omega: torch.Tensor | None = None, labels=None,
                           sigma_data: float | None = None, device=None) -> list[dict]:
    """EDM-weighted denoising loss lambda(sigma) ||D(x0 + sigma n; sigma) - x0||^2 (per-dimension mean)
    of `model` on `data`, per noise band. Fixed seed: the same noises for training and held-out sets."""
    data = V.batch("data", data)
    n_per_band = V.count("n_per_band", n_per_band, 4 * data[0].numel() + 16)   # a probe: its noise, sigma, index
    batch_size = V.integer("batch_size", batch_size, 1)
    bands = bands or sigma_bands()
    model = as_denoiser(model)
    device = device or model.device
    sd = sigma_data if sigma_data is not None else model.sigma_data
    g = torch.Generator().manual_seed(seed)
    rows = []
    for low, high in bands:
        idx = torch.randint(data.shape[0], (n_per_band,), generator=g)
        sig = _band_sigmas(low, high, n_per_band, g).float()
        noise = torch.randn((n_per_band, *data.shape[1:]), generator=g)
        total = 0.0
        for s in range(0, n_per_band, batch_size):
            x0 = data[idx[s:s + batch_size]].to(device)
            sb = sig[s:s + batch_size].to(device)
            y = x0 + sb.reshape(-1, *[1] * (x0.ndim - 1)) * noise[s:s + batch_size].to(device)
            lab = None if labels is None else labels[idx[s:s + batch_size]].to(device)
            om = None if omega is None else omega[: x0.shape[0]].to(device)
            err = (model(y, sb, omega=om, labels=lab).float() - x0.float()) ** 2
            total += (loss_weight(sb.float(), sd) * err.reshape(err.shape[0], -1).mean(1)).sum().item()
        rows.append({"sigma_low": low, "sigma_high": high, "loss": total / n_per_band})
    return rows


def overfitting_gap(model, train: torch.Tensor, heldout: torch.Tensor, train_labels=None, heldout_labels=None,
                    **kwargs) -> list[dict]:
    """Per band: training loss, held-out loss and gap = held-out - training (same noises for both).
    Labels (for class-conditional models) go with their own split; other options as in
    `denoising_loss_by_band` (the model's device, batches of `batch_size`)."""
    if "labels" in kwargs:
        raise ValueError("pass train_labels and heldout_labels (one per split), not labels")
    tr = denoising_loss_by_band(model, train, labels=train_labels, **kwargs)
    ho = denoising_loss_by_band(model, heldout, labels=heldout_labels, **kwargs)
    return [{"sigma_low": a["sigma_low"], "sigma_high": a["sigma_high"], "train": a["loss"],
             "heldout": b["loss"], "gap": b["loss"] - a["loss"]} for a, b in zip(tr, ho)]


LOW_SIGMA = 1.0   # the bands whose upper edge is at most this: where the loss depends on the images' details


def low_sigma_mean(bands: list, key: str, sigma_max: float = LOW_SIGMA) -> float:
    """Mean of `key` ("train", "heldout" or "gap") over the bands of `overfitting_gap` whose upper edge is
    <= sigma_max."""
    rows = [b for b in bands if b["sigma_high"] <= sigma_max]
    if not rows:
        raise ValueError(f"no band lies below sigma = {sigma_max}")
    return sum(b[key] for b in rows) / len(rows)


def _non_identity_params(transform, n: int, generator: torch.Generator, tries: int = 20) -> torch.Tensor:
    """n parameter rows of `transform`, redrawing rows that encode the identity (omega = 0), so that the
    equivariance error measures transformed inputs (rot90 draws k = 0 a quarter of the time)."""
    params = transform.sample_params(n, generator)
    for _ in range(tries):
        identity = transform.encode(params).abs().sum(1) == 0
        if not identity.any():
            break
        params = torch.where(identity[:, None], transform.sample_params(n, generator), params)
    return params


@torch.no_grad()
def equivariance_error(model, data: torch.Tensor, sampler, conditioned: bool | None = None, bands=None,
                       n_per_band: int = 256, seed: int = 0, batch_size: int = 256, labels=None) -> dict:
    """Equivariance error of a denoiser, per transform of `sampler` and per noise band:

        e = D(T y; sigma, omega_T) - T D(y; sigma, 0),   y = x0 + sigma n,  x0 from `data` (B, ...)

    omega_T = sampler.omega_for(T, params) for a model conditioned on omega (and zeros for the
    identity); omega = None on both sides for an unconditioned one. Reported per band, averaged over
    probes: `abs_rms` = ||e|| / sqrt(dim) (per-coordinate RMS) and `relative` = ||e|| / ||T D(y; sigma, 0)||.

    The optimal ScoreAug denoiser has e = 0 for every invertible T (E[T x0 | T y] = T E[x0 | y]); an
    unconditioned optimum only for T under which the data law is invariant; for non-invertible T (cutout,
    zero-padded translation) T y holds less information than y, so e > 0 even at the optimum.
    Identity draws are redrawn. `conditioned` defaults to model.omega_dim > 0."""
    bands = bands or sigma_bands()
    model = as_denoiser(model)
    if conditioned is None:
        conditioned = model.omega_dim > 0
    if conditioned and model.omega_dim and model.omega_dim != sampler.omega_dim:
        raise ValueError(f"the model reads omega of size {model.omega_dim}, the sampler encodes "
                         f"{sampler.omega_dim}: use the run's own transform sampler")
    if data.ndim < 2 or data.shape[0] < 1:
        raise ValueError(f"data must be a batch (N, ...), got shape {tuple(data.shape)}")
    result = {}
    for k, transform in enumerate(sampler.transforms):
        g = torch.Generator().manual_seed(seed * 1009 + k)
        rows = []
        for low, high in bands:
            idx = torch.randint(data.shape[0], (n_per_band,), generator=g)
            sig = _band_sigmas(low, high, n_per_band, g).float()
            noise = torch.randn((n_per_band, *data.shape[1:]), generator=g)
            params = _non_identity_params(transform, n_per_band, g)
            abs_sum = rel_sum = 0.0
            for s in range(0, n_per_band, batch_size):
                part = slice(s, s + batch_size)
                x0 = data[idx[part]].float()
                sb = sig[part]
                y = x0 + sb.reshape(-1, *[1] * (x0.ndim - 1)) * noise[part]
                pb = params[part]
                om_t = om_0 = None
                if conditioned:
                    om_t = sampler.omega_for(transform.name, pb)
                    om_0 = torch.zeros_like(om_t)
                lab = None if labels is None else labels[idx[part]]
                d_ty, t_dy = transformed_pair(model, model, transform, pb, y, sb, om_t, om_0, lab)
                err = (d_ty - t_dy).reshape(x0.shape[0], -1).norm(dim=1)                  # (B,)
                ref = t_dy.reshape(x0.shape[0], -1).norm(dim=1).clamp(min=1e-12)
                abs_sum += (err / math.sqrt(y[0].numel())).sum().item()
                rel_sum += (err / ref).sum().item()
            rows.append({"sigma_low": low, "sigma_high": high, "abs_rms": abs_sum / n_per_band,
                         "relative": rel_sum / n_per_band})
        result[transform.name] = {"orthogonal": bool(transform.orthogonal),
                                  "invertible": bool(transform.invertible), "by_band": rows}
    return result


@torch.no_grad()
def oracle_errors(model, train: torch.Tensor, probe: torch.Tensor, truth=None, bands=None,
                  n_per_band: int = 512, seed: int = 0) -> list[dict]:
    """Mean squared error (per dimension) of the learned denoiser against the ideal denoiser of the
    training set (memorising oracle) and, when `truth` (e.g. a GaussianMixture) is given, against the
    true denoiser, at y = x0 + sigma n with x0 drawn from `probe` (held-out data), per noise band."""
    bands = bands or sigma_bands()
    model = as_denoiser(model)
    g = torch.Generator().manual_seed(seed)
    rows = []
    for low, high in bands:
        x0 = probe[torch.randint(probe.shape[0], (n_per_band,), generator=g)]
        sig = _band_sigmas(low, high, n_per_band, g)
        y = (x0.double() + sig.reshape(-1, *[1] * (x0.ndim - 1)) * torch.randn(x0.shape, generator=g,
                                                                              dtype=torch.float64)).float()
        dev = model.device
        d_model = model(y.to(dev), sig.float().to(dev)).double().cpu()
        row = {"sigma_low": low, "sigma_high": high,
               "vs_ideal": ((d_model - ideal_denoiser(y, sig, train)) ** 2).mean().item()}
        if truth is not None:
            row["vs_true"] = ((d_model - truth.denoiser(y, sig)) ** 2).mean().item()
        rows.append(row)
    return rows
