"""Evaluate a trained run: sample with omega = 0 (the identity), then measure memorisation, the
distance to fresh data, the train/held-out denoising gap per sigma band and the oracle errors (points),
or the gap, memorisation, equivariance error, FID/KID and a sample grid (images)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from .metrics import (
    MMD_BANDWIDTHS, equivariance_error, memorisation, mmd_rbf, oracle_errors, overfitting_gap, sliced_wasserstein)

FID_CHOICES = ("none", "inception", "proxy", "both")
GRID_FILE = "samples_grid.png"


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


def _note(notes: list, message: str, log) -> None:
    notes.append(message)
    if log is not None:
        log(message)


def _stderr(message: str) -> None:
    print(f"scoreaug-lab: {message}", file=sys.stderr)


def save_grid(images: torch.Tensor, path, nrow: int = 8) -> Path:
    """A PNG grid of images (N, C, H, W) in [-1, 1] (see plotting.save_image_grid)."""
    from ..plotting import save_image_grid
    save_image_grid(images, path, nrow=nrow)
    return Path(path)


def fid_kid(samples: torch.Tensor, data, kind: str = "both", classifier_path=None, default_classifier=None,
            inception_weights=None, device=None, seed: int = 0, max_reference: int = 10_000, log=_stderr) -> dict:
    """FID/KID of samples against the training and held-out images, in the feature space(s) asked for.

    kind: 'none' | 'inception' | 'proxy' | 'both'. Inception needs torch-fidelity's weights (cached, or
    downloaded now); when they cannot be had a one-line message says why and the proxy is used instead.
    The proxy needs a classifier checkpoint (`scoreaug-lab classifier`): `classifier_path` when given
    (it must exist), else `default_classifier` when that file exists. Returns {"fid_inception": dict or
    None, "fid_proxy_classifier": dict or None, "fid_notes": [...]}, each dict with "vs_train" and
    "vs_heldout" entries (fid, kid mean/std, n_reference)."""
    from .fid import find_inception_weights, inception_fid_kid, proxy_fid_kid
    if kind not in FID_CHOICES:
        raise ValueError(f"--fid must be one of {', '.join(FID_CHOICES)}, got {kind!r}")
    out = {"fid_inception": None, "fid_proxy_classifier": None, "fid_notes": []}
    if kind == "none":
        return out
    refs = {"vs_train": data.train[:max_reference], "vs_heldout": data.heldout[:max_reference]}
    use_proxy = kind in ("proxy", "both")
    if kind in ("inception", "both"):
        weights, reason = find_inception_weights(inception_weights)
        if weights is None:
            fallback = "the proxy FID is used instead" if kind == "inception" else "only the proxy FID is reported"
            _note(out["fid_notes"], f"Inception FID unavailable: {reason}; {fallback}", log)
            use_proxy = True
        else:
            out["fid_inception"] = inception_fid_kid(samples, refs, weights, device=device, seed=seed)
    if use_proxy:
        from .classifier import load_classifier
        path = Path(classifier_path) if classifier_path else (Path(default_classifier) if default_classifier else None)
        if classifier_path and not path.is_file():
            raise FileNotFoundError(f"no classifier at {path}; train one with `scoreaug-lab classifier`")
        if path is None or not path.is_file():
            _note(out["fid_notes"], f"proxy FID skipped: no classifier at {path}; train one with "
                  f"`scoreaug-lab classifier --data {data.name} --out {path}`", log)
            return out
        net, info = load_classifier(path, device or "cpu")
        if list(samples.shape[1:]) != net.config["image_shape"]:
            _note(out["fid_notes"], f"proxy FID skipped: the classifier at {path} reads images "
                  f"{tuple(net.config['image_shape'])}, this run has {tuple(samples.shape[1:])}", log)
            return out
        out["fid_proxy_classifier"] = proxy_fid_kid(samples, refs, net, info, seed=seed)
    return out


def evaluate_images(model, data, samples: torch.Tensor, sampler, *, n_per_band: int = 512,
                    n_equivariance: int = 128, seed: int = 0, fid: str = "both", classifier_path=None,
                    default_classifier=None, inception_weights=None, grid_path=None, batch_size: int = 256,
                    log=_stderr) -> dict:
    """The image-path metrics as one JSON-able dict.

    model: the denoiser (EMA); data: a DataSplit of images; samples (N, C, H, W) drawn with omega = 0;
    sampler: the TransformSampler whose transforms are probed for equivariance (the run's own, so that
    omega_for gives the run's codes; for an unconditioned model any sampler of image transforms).
    Class labels are passed to a class-conditional model (label_dim > 0) in the loss and equivariance
    probes; sampling is the caller's."""
    timings = {}
    clock = time.perf_counter()
    labelled = model.label_dim > 0
    train_labels = data.train_labels if labelled else None
    heldout_labels = data.heldout_labels if labelled else None
    result = {"n_samples": int(samples.shape[0]), "n_train_images": int(data.train.shape[0]),
              "n_heldout_images": int(data.heldout.shape[0])}
    result["loss_by_band"] = overfitting_gap(model, data.train, data.heldout, train_labels, heldout_labels,
                                             n_per_band=n_per_band, seed=seed, batch_size=batch_size)
    timings["loss_by_band"] = time.perf_counter() - clock
    clock = time.perf_counter()
    device = model.device  # nearest neighbours among the training images: on the model's device
    result["memorisation"] = memorisation(samples, data.train, device=device)
    result["memorisation_of_heldout"] = memorisation(data.heldout[: samples.shape[0]], data.train, device=device)
    timings["memorisation"] = time.perf_counter() - clock
    clock = time.perf_counter()
    conditioned = model.omega_dim > 0
    result["equivariance_omega"] = "omega_for(T) vs zeros" if conditioned else "none (model not conditioned on omega)"
    result["equivariance_error"] = equivariance_error(model, data.heldout, sampler, conditioned=conditioned,
                                                      n_per_band=n_equivariance, seed=seed, batch_size=batch_size,
                                                      labels=heldout_labels)
    timings["equivariance_error"] = time.perf_counter() - clock
    clock = time.perf_counter()
    result.update(fid_kid(samples, data, fid, classifier_path, default_classifier, inception_weights,
                          device=model.device, seed=seed, log=log))
    timings["fid_kid"] = time.perf_counter() - clock
    if grid_path is not None:
        result["sample_grid"] = str(save_grid(samples[:64], grid_path))
    result["seconds"] = timings
    return result
