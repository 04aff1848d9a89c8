"""FID and KID: in Inception-v3 feature space through torch-fidelity (the standard weights, where they can
be had) and in the feature space of the toolkit's own small classifier (`classifier.py`, offline).

Definitions (features f in R^k, one row per image):
  FID = ||mu_1 - mu_2||^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)),  mu and S the mean and covariance (N - 1).
        tr (S_1 S_2)^(1/2) is computed in float64 with symmetric eigen-decompositions (numpy eigh):
        with R = S_1^(1/2) (from eigh of S_1), S_1 S_2 is similar to R S_2 R, which is symmetric positive
        semi-definite, so tr (S_1 S_2)^(1/2) = sum_i sqrt(lambda_i(R S_2 R)) (negative round-off clamped).
        With fewer samples than feature dimensions the same eigenvalues come from an (n, n) matrix
        (see `_fid_features_vs_statistics`).
  KID = the unbiased squared MMD with the cubic polynomial kernel k(x, y) = (x.y / k + 1)^3, averaged
        over random subsets drawn as torch-fidelity draws them (so the values match its KID), float64.

Images enter as float tensors (N, C, H, W) in [-1, 1]; Inception reads them as uint8 RGB (grey images
are repeated to 3 channels) and resizes them to 299 x 299 itself.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import torch

INCEPTION_WEIGHTS_ENV = "SCOREAUG_INCEPTION_WEIGHTS"
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


# --- statistics and distances ----------------------------------------------------------------------
def _features64(features) -> np.ndarray:
    f = features.detach().cpu().double().numpy() if isinstance(features, torch.Tensor) else np.asarray(
        features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must be a matrix (N, k), got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError("features contain NaN or infinite values")
    return f


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """(mu (k,), covariance (k, k)) of features (N, k) in float64, covariance with N - 1."""
    f = _features64(features)
    if f.shape[0] < 2:
        raise ValueError(f"FID needs at least 2 feature rows, got {f.shape[0]}")
    return f.mean(0), np.atleast_2d(np.cov(f, rowvar=False))


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues clamped at 0)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, cov1, mu2, cov2, root1: np.ndarray | None = None) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) in float64 (see the module note). `root1`, the
    symmetric square root of cov1, may be passed when one set is compared with several others."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    k = mu1.shape[0]
    if mu2.shape != (k,) or cov1.shape != (k, k) or cov2.shape != (k, k):
        raise ValueError(f"Frechet distance needs means (k,) and covariances (k, k) of one size; got "
                         f"{mu1.shape}, {cov1.shape}, {mu2.shape}, {cov2.shape}")
    root1 = _sqrt_psd(cov1) if root1 is None else root1
    inner = root1 @ cov2 @ root1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * tr_sqrt)


def _fid_features_vs_statistics(features1: np.ndarray, mu2, cov2, root1=None) -> float:
    """FID between features (n, k) and the statistics (mu2, cov2) of another set. With n <= k the
    covariance S1 = A^T A / (n - 1) (A: centred rows) has rank < n, and the non-zero eigenvalues of S1 S2
    are those of the small symmetric matrix A S2 A^T / (n - 1) (n, n): same value, (n/k)^3 of the work."""
    n, k = features1.shape
    mu1 = features1.mean(0)
    if n > k:
        return frechet_distance(mu1, np.atleast_2d(np.cov(features1, rowvar=False)), mu2, cov2, root1=root1)
    a = features1 - mu1
    # The centred rows sum to 0, so A A^T has the null vector 1/sqrt(n); a float eigenvalue of ~1e-16 there
    # would add its square root (~1e-8) to the trace. A Householder reflection H maps 1/sqrt(n) to e_n, so
    # the last row of H A is sqrt(n) * mean = 0 and the first n - 1 rows keep the same S1 = B^T B / (n - 1).
    v = np.full(n, 1 / np.sqrt(n))
    v[-1] -= 1.0
    b = (a - np.outer(v, 2 * (v @ a) / (v @ v)))[:-1]                        # (n - 1, k)
    inner = b @ cov2 @ b.T / (n - 1)
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + (a * a).sum() / (n - 1) + np.trace(cov2) - 2 * tr_sqrt)


def fid_from_features(features1, features2) -> float:
    """FID between two feature sets (N1, k), (N2, k)."""
    f1 = _features64(features1)
    if f1.shape[0] < 2:
        raise ValueError(f"FID needs at least 2 feature rows, got {f1.shape[0]}")
    return _fid_features_vs_statistics(f1, *feature_statistics(features2))


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """k(x, y) = (x.y / k + 1)^3 for rows x (m, k), y (n, k) -> (m, n) (KID's kernel)."""
    g = x @ y.T / x.shape[1] + 1.0
    return g * g * g


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (n(n-1)) - 2 sum_{i,j} k(x_i, y_j) / (mn)."""
    m, n = x.shape[0], y.shape[0]
    kxx, kyy = polynomial_kernel(x, x), polynomial_kernel(y, y)
    return ((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
            - 2 * polynomial_kernel(x, y).mean()).item()


def kid_from_features(features1, features2, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE,
                      seed: int = 0) -> dict:
    """KID: mean and (population) std of the unbiased MMD^2 with the cubic polynomial kernel over `subsets`
    random subsets of min(subset_size, N1, N2) rows each, in float64. Subsets are drawn as torch-fidelity
    draws them (numpy RandomState(seed): rows of set 1, then of set 2, without replacement), so the
    numbers equal torch-fidelity's KID for the same features and seed."""
    f1, f2 = _features64(features1), _features64(features2)
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"feature sizes differ: {f1.shape[1]} and {f2.shape[1]}")
    size = min(subset_size, f1.shape[0], f2.shape[0])
    if size < 2 or subsets < 1:
        raise ValueError("KID needs at least 2 feature rows in each set and at least 1 subset")
    t1, t2 = torch.from_numpy(f1), torch.from_numpy(f2)
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        i1 = rng.choice(f1.shape[0], size, replace=False)
        i2 = rng.choice(f2.shape[0], size, replace=False)
        values.append(mmd2_unbiased(t1[i1], t2[i2]))
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "subsets": subsets, "subset_size": size}


def distances_to_references(sample_features, reference_features: dict, seed: int = 0,
                            kid_subsets: int = KID_SUBSETS) -> dict:
    """{name: {"fid": ..., "kid": {...}, "n_reference": ...}} for each reference feature set."""
    f = _features64(sample_features)
    if f.shape[0] < 2:
        raise ValueError(f"FID needs at least 2 samples, got {f.shape[0]}")
    root = _sqrt_psd(np.cov(f, rowvar=False)) if f.shape[0] > f.shape[1] else None  # once for all references
    out = {}
    for name, ref in reference_features.items():
        fid = _fid_features_vs_statistics(f, *feature_statistics(ref), root1=root)
        kid = kid_from_features(sample_features, ref, subsets=kid_subsets, seed=seed)
        out[name] = {"fid": fid, "kid": kid, "n_reference": int(ref.shape[0])}
    return out


# --- images to features ------------------------------------------------------------------------------
def to_uint8_rgb(images: torch.Tensor) -> torch.Tensor:
    """Images (N, C, H, W) in [-1, 1] -> uint8 (N, 3, H, W) (rounded; grey images repeated to RGB)."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, 1 or 3, H, W), got shape {tuple(images.shape)}")
    x = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.expand(-1, 3, -1, -1).contiguous() if x.shape[1] == 1 else x


@torch.no_grad()
def batched_features(extract, images: torch.Tensor, batch_size: int = 256, device=None) -> torch.Tensor:
    """Apply `extract` to images in batches on `device`; float64 rows (N, k) on the CPU."""
    out = [extract(images[s:s + batch_size].to(device)).double().cpu() for s in range(0, images.shape[0], batch_size)]
    return torch.cat(out)


# --- Inception (torch-fidelity) --------------------------------------------------------------------
def inception_weights_file() -> Path:
    """Where torch-fidelity's Inception weights are cached (torch hub's checkpoint folder), unless the
    environment variable SCOREAUG_INCEPTION_WEIGHTS names a file."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
    if os.environ.get(INCEPTION_WEIGHTS_ENV):
        return Path(os.environ[INCEPTION_WEIGHTS_ENV])
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(URL_INCEPTION_V3)


def find_inception_weights(path=None, download: bool = True, timeout: float = 20.0) -> tuple[Path | None, str]:
    """(path to the Inception weights, '') when they are present or can be downloaded now, else
    (None, the reason in one line)."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
    named = path or os.environ.get(INCEPTION_WEIGHTS_ENV)
    target = Path(named) if named else inception_weights_file()
    if target.is_file():
        return target, ""
    if named:  # a file the user named is never replaced by a download
        return None, f"no Inception weights file at {target}"
    if not download:
        return None, f"the Inception weights are not cached at {target}"
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(URL_INCEPTION_V3, str(target), progress=False)
        return target, ""
    except Exception as err:  # no network, a proxy, a full disk: report it, do not crash the evaluation
        reason = " ".join(str(err).split()) or type(err).__name__
        return None, f"cannot download the Inception weights from {URL_INCEPTION_V3} ({reason[:160]})"
    finally:
        socket.setdefaulttimeout(old)


def load_inception_state(path) -> dict:
    """The Inception weights as a plain {name: tensor} dict, read with torch.load(weights_only=True): a file that
    is not plain tensors (a pickle that would run code, anything else) is refused with one line, never unpickled."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        reason = " ".join(str(err).split())[:160] or type(err).__name__
        raise ValueError(f"refusing the Inception weights at {path}: not a plain tensor state dict ({reason})") from None
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"refusing the Inception weights at {path}: not a state dict of tensors")
    return state


class InceptionFeatures:
    """torch-fidelity's Inception-v3 (the TF-FID port) returning the 2048-d pool features.

    torch-fidelity reads its weights file with a full unpickler (weights_only=False). The toolkit never hands it
    the file: it reads the state dict itself with weights_only=True (`load_inception_state`) and gives torch-fidelity
    that dict while it builds the network."""

    def __init__(self, weights_path, device=None):
        from unittest import mock

        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        state = load_inception_state(weights_path)
        self.device = torch.device(device or "cpu")
        try:
            with mock.patch.object(torch, "load", lambda *args, **kwargs: state):  # only inside the constructor
                net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                                  feature_extractor_weights_path=str(weights_path))
        except (RuntimeError, KeyError) as err:
            raise ValueError(f"the Inception weights at {weights_path} do not fit torch-fidelity's Inception-v3 "
                             f"({str(err).splitlines()[0][:160]})") from None
        self.net = net.to(self.device)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(to_uint8_rgb(images).to(self.device))[0]


def inception_fid_kid(samples: torch.Tensor, references: dict, weights_path, device=None, batch_size: int = 100,
                      seed: int = 0, kid_subsets: int = KID_SUBSETS) -> dict:
    """FID/KID in Inception feature space between samples and each reference image set {name: (N, C, H, W)}."""
    net = InceptionFeatures(weights_path, device)
    feats = {name: batched_features(net, x, batch_size, net.device) for name, x in references.items()}
    out = distances_to_references(batched_features(net, samples, batch_size, net.device), feats, seed, kid_subsets)
    return {"features": "Inception-v3 pool3 (2048-d), torch-fidelity weights", "feature_dim": 2048,
            "weights": str(weights_path), "n_samples": int(samples.shape[0]), **out}


def proxy_fid_kid(samples: torch.Tensor, references: dict, classifier, info: dict, device=None,
                  batch_size: int = 500, seed: int = 0, kid_subsets: int = KID_SUBSETS) -> dict:
    """FID/KID in the penultimate-layer features of the toolkit's classifier (see classifier.py)."""
    device = device or next(classifier.parameters()).device
    classifier.eval()
    feats = {name: batched_features(classifier.features, x, batch_size, device) for name, x in references.items()}
    out = distances_to_references(batched_features(classifier.features, samples, batch_size, device), feats, seed,
                                  kid_subsets)
    return {"features": "penultimate layer of the toolkit's CIFAR-style classifier (not Inception: "
                        "values are not comparable with published FIDs)",
            "feature_dim": int(classifier.feature_dim), "classifier": info.get("path"),
            "classifier_test_accuracy": info.get("test_accuracy"), "classifier_data": info.get("data"),
            "n_samples": int(samples.shape[0]), **out}
