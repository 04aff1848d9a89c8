"""Static figures (matplotlib) written by the command line and the demo."""
from __future__ import annotations

from pathlib import Path

import matplotlib

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
