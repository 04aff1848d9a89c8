"""A balanced CIFAR-10 subset as a local .npz, built from the full CIFAR-10 that torchvision downloads.

    scoreaug-lab data cifar10-subset --n-train 10000 --n-test 2000 --seed 0 --out data/cifar10_subset.npz

The training images are the first n_train of a balanced order of the official training split (every class
as evenly as possible, a random order within each class drawn from `seed`), the test images likewise from the
official test split: the same rule as `--n-train` uses everywhere (`images.balanced_order`). The file has the
format `--data cifar10:FILE.npz` reads (uint8 x_train (N, 32, 32, 3), y_train (N,), x_test, y_test; no pickled
objects) and is written atomically.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from .. import validation as V
from .images import balanced_order, read_cifar10_torchvision


def balanced_subset(x: np.ndarray, y: np.ndarray, n: int, seed: int, stream: int, what: str):
    """The first n images of a balanced order of (x, y): uint8 images and int64 labels (numpy)."""
    if n > x.shape[0]:
        raise ValueError(f"{what}: asked for {n} images but the split holds {x.shape[0]}")
    order = balanced_order(torch.from_numpy(np.asarray(y, dtype=np.int64)),
                           torch.Generator().manual_seed(seed * 1_000_003 + stream))[:n].numpy()
    return np.ascontiguousarray(x[order]), np.asarray(y, dtype=np.int64)[order]


def build_cifar10_subset(out, n_train: int = 10_000, n_test: int = 2_000, seed: int = 0, root=None,
                         download: bool = True) -> dict:
    """Write the subset to `out` (.npz); returns {path, n_train, n_test, per-class counts}."""
    out = Path(out)
    if out.suffix != ".npz":
        raise ValueError(f"--out must name a .npz file, got {out}")
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; name a .npz file")
    blocking = next((parent for parent in out.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:       # checked before CIFAR-10 is read (a minute or a download)
        raise ValueError(f"--out {out} cannot be created: {blocking} is a file")
    n_train, n_test = V.integer("n_train", n_train, 1, 50_000), V.integer("n_test", n_test, 1, 10_000)
    seed = V.seed("seed", seed)
    x_tr, y_tr, x_te, y_te = read_cifar10_torchvision(root, download=download)
    arrays = {}
    arrays["x_train"], arrays["y_train"] = balanced_subset(x_tr, y_tr, n_train, seed, 0, "training split")
    arrays["x_test"], arrays["y_test"] = balanced_subset(x_te, y_te, n_test, seed, 1, "test split")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".npz")
    os.close(fd)
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return {"path": str(out), "n_train": n_train, "n_test": n_test, "seed": seed,
            "train_per_class": np.bincount(arrays["y_train"], minlength=10).tolist(),
            "test_per_class": np.bincount(arrays["y_test"], minlength=10).tolist()}


__all__ = ["build_cifar10_subset", "balanced_subset"]
