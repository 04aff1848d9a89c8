"""Static figures (matplotlib) written by the command line and the demo."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # scripts and the CLI draw off-screen; a notebook keeps its inline backend
    matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402


def scatter_over_training(ax, samples, train, title: str = "") -> None:
    """Samples (grey dots) over the training points (red crosses) of a 2-D set."""
    ax.scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.4, color="tab:blue", label="samples")
    if train is not None:
        ax.scatter(train[:, 0], train[:, 1], s=30, marker="x", color="tab:red", label="training points")
    ax.set_aspect("equal")
    ax.set_title(title)


def save_sample_figure(samples, path, train=None, title: str = "samples") -> None:
    """A PNG of 2-D samples over their training points."""
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"a point figure needs (N, 2) samples, got {tuple(samples.shape)}")
    fig, ax = plt.subplots(figsize=(5, 5))
    scatter_over_training(ax, samples.numpy(), None if train is None else train.numpy(), title)
    ax.legend(loc="upper right", fontsize=8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def image_grid(images, nrow: int | None = None, padding: int = 2, min_size: int = 32):
    """Images (N, C, H, W) in [-1, 1] -> one grid (C, H', W') in [0, 1] (torchvision.utils.make_grid).

    nrow: images per row (default ceil(sqrt(N))). Images smaller than `min_size` pixels are enlarged by
    an integer factor with nearest-neighbour (so 8x8 digits stay crisp and visible)."""
    import torch
    from torchvision.utils import make_grid
    images = torch.as_tensor(images).detach().float().cpu()
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"an image grid needs (N, 1 or 3, H, W) images, got {tuple(images.shape)}")
    factor = max(1, -(-min_size // images.shape[-1]))
    if factor > 1:
        images = images.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)
    nrow = nrow or max(1, math.ceil(math.sqrt(images.shape[0])))
    return make_grid((images.clamp(-1, 1) + 1) / 2, nrow=nrow, padding=padding, pad_value=1.0)


def save_image_grid(images, path, nrow: int | None = None, padding: int = 2, min_size: int = 32) -> None:
    """A PNG grid of images (N, C, H, W) in [-1, 1] (torchvision.utils.save_image)."""
    from torchvision.utils import save_image
    grid = image_grid(images, nrow=nrow, padding=padding, min_size=min_size)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, str(path))


def seed_strip(ax, groups, ylabel: str = "", reference=None, reference_label: str = "fresh data") -> None:
    """groups {label: [one value per seed]}: a black dot per seed, and the mean ± std (open circle, bars).
    reference: one value (a dashed line across) or {label: value} (a dashed line per group)."""
    import numpy as np

    from .evaluate.summary import mean_std
    for i, (label, values) in enumerate(groups.items()):
        values = [float(v) for v in values]
        xs = np.linspace(i - 0.15, i + 0.15, len(values)) if len(values) > 1 else [i]
        m, s = mean_std(values)
        ax.errorbar(i, m, yerr=None if len(values) < 2 else s, fmt="o", ms=11, mfc="none", mew=2, color=f"C{i}",
                    capsize=7, lw=2, zorder=2)
        ax.scatter(xs, values, s=16, color="black", zorder=3)
        if isinstance(reference, dict) and label in reference:
            ax.hlines(reference[label], i - 0.35, i + 0.35, colors="gray", linestyles="--", zorder=1)
    if reference is not None and not isinstance(reference, dict):
        ax.axhline(reference, color="gray", ls="--", lw=1, label=reference_label)
    ax.set_xticks(range(len(groups)), list(groups), rotation=30, ha="right")
    ax.set_ylabel(ylabel)
