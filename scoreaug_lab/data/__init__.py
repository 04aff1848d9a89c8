"""Data sets behind one entry point, `load_data(spec, n_train, ...)`.

Specs: 'toy:gmm8' | 'toy:moons' | 'toy:swissroll' | 'toy:checkerboard' (points in R^2);
'cifar10' | 'cifar10:FILE.npz' | 'digits[:SIZE]' (images (C, H, W) in [-1, 1], see `data.images`).
Training sets are nested: the first n_train points of a fixed pool drawn from `seed`, so a smaller
set is always a subset of a larger one (image subsets are also balanced per class); the held-out set
comes from an independent stream (toy) or a split never used for training (images).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import validation as V

from .toy import TOY_SETS, GaussianMixture, ring_mixture, sample_toy, true_distribution

POOL_SIZE = 10_000
TOY_MAX_POINTS = 1_000_000     # more toy points than this is a typo (and would not fit a widget or a plot)


@dataclass
class DataSplit:
    name: str
    kind: str                                # "points" or "images"
    train: torch.Tensor                      # (N, ...) float32
    heldout: torch.Tensor                    # (M, ...) float32
    train_labels: torch.Tensor | None = None  # (N,) long
    heldout_labels: torch.Tensor | None = None
    num_classes: int = 0
    truth: GaussianMixture | None = None     # closed-form true distribution, where known
    class_names: tuple | None = None

    @property
    def data_shape(self) -> tuple:
        return tuple(self.train.shape[1:])


def seeded_generator(seed: int, stream: int = 0) -> torch.Generator:
    """A CPU generator for (seed, stream): independent streams of one seed, e.g. train and held-out."""
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + int(stream))


def parse_spec(spec: str) -> tuple[str, str]:
    """'toy:gmm8' -> ('toy', 'gmm8'); 'digits' -> ('digits', '')."""
    family, _, rest = spec.partition(":")
    return family.strip(), rest.strip()


IMAGE_FAMILIES = ("digits", "cifar10")


def data_kind(spec: str) -> str:
    """'points' for toy sets, 'images' for image sets; a clear error for an unknown family."""
    family = parse_spec(spec)[0]
    if family == "toy":
        return "points"
    if family in IMAGE_FAMILIES:
        return "images"
    raise ValueError(f"unknown data spec {spec!r}; expected toy:{{{','.join(TOY_SETS)}}}, "
                     "cifar10[:FILE.npz] or digits[:SIZE]")


def load_data(spec: str, n_train: int, n_heldout: int = 2000, seed: int = 0) -> DataSplit:
    family, name = parse_spec(spec)
    kind = data_kind(spec)  # a clear error for an unknown family
    if n_train < 1:
        raise ValueError(f"--n-train must be >= 1, got {n_train}")
    if kind == "points":
        if name not in TOY_SETS:
            raise ValueError(f"unknown toy data set {name!r}; choose one of {', '.join(TOY_SETS)}")
        V.integer("--n-train (toy points)", n_train, 1, TOY_MAX_POINTS)
        V.integer("--n-heldout (toy points)", n_heldout, 0, TOY_MAX_POINTS)
        pool = sample_toy(name, max(POOL_SIZE, n_train), seeded_generator(seed, 0))
        heldout = sample_toy(name, n_heldout, seeded_generator(seed, 1))
        return DataSplit(spec, "points", pool[:n_train].contiguous(), heldout, truth=true_distribution(name))
    from .images import load_image_data  # imported lazily: numpy/sklearn/torchvision paths
    return DataSplit(spec, "images", **load_image_data(family, name, n_train, n_heldout, seed))


__all__ = ["DataSplit", "data_kind", "GaussianMixture", "TOY_SETS", "load_data", "ring_mixture", "sample_toy",
           "seeded_generator", "true_distribution"]
