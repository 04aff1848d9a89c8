"""Static figures (matplotlib) written by the command line and the demo, and the notebooks' figure sizes.

A notebook shows a figure at its size in pixels (inches x the inline backend's 100 dpi, trimmed to the drawn area),
shrunk to the output area where it is wider: a 16-inch figure in the ~968-pixel output of a 1400-pixel window is
drawn at 0.6 of its size, so its 9-point titles come out 7 pixels high. `panels` makes figures that fit the output
area (MAX_WIDTH_IN), so text keeps its size; `text_px` says how large each text of a figure is drawn there (the
notebooks' checks assert that none is below MIN_TEXT_PX).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # scripts and the CLI draw off-screen; a notebook keeps its inline backend
    matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402


INLINE_DPI = 100            # matplotlib's figure.dpi, which the inline backend draws at
OUTPUT_PX = 968             # width of a notebook's output area in JupyterLab at a 1400-pixel window, side bar open
MAX_WIDTH_IN = OUTPUT_PX / INLINE_DPI      # a figure up to this wide is shown at its own size there
MIN_TEXT_PX = 10            # the smallest text a figure should show there (a 9-point title is 12.5 px at 100 dpi)


def fit_width(width: float, height: float, max_width: float = MAX_WIDTH_IN) -> tuple[float, float]:
    """(width, height) in inches, scaled down together so that the width is at most `max_width`."""
    if not width > 0 or not height > 0:
        raise ValueError(f"a figure size needs a positive width and height, got {width} x {height}")
    shrink = min(1.0, max_width / width)
    return width * shrink, height * shrink


def panels(nrows: int, ncols: int, panel: tuple[float, float] = (3.2, 3.0), max_width: float = MAX_WIDTH_IN,
           **subplots_kwargs):
    """plt.subplots(nrows, ncols) of panels `panel` (width, height) inches each, the whole figure scaled down to fit
    a notebook's output area (fit_width): texts stay at their size in points, so they are as large there as in a
    figure of one panel."""
    figsize = fit_width(ncols * panel[0], nrows * panel[1], max_width)
    return plt.subplots(nrows, ncols, figsize=figsize, **subplots_kwargs)


def text_px(fig, output_px: float = OUTPUT_PX, dpi: float = INLINE_DPI) -> list[tuple[float, str]]:
    """(size in pixels, text) of every visible, non-empty text of `fig` as a notebook shows it: the font size in
    points x dpi / 72, times the shrink of the figure (its drawn area and padding, as the inline backend trims it) to an output
    area `output_px` wide. Smallest first."""
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    pad = matplotlib.rcParams["savefig.pad_inches"]               # bbox_inches="tight" adds it on each side
    drawn_px = (fig.get_tightbbox(renderer).width + 2 * pad) * dpi  # bbox in inches
    shrink = min(1.0, output_px / drawn_px)
    sizes = [(t.get_fontsize() * dpi / 72 * shrink, t.get_text()) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_window_extent(renderer).width > 0]
    return sorted(sizes)


def small_texts(fig, min_px: float = MIN_TEXT_PX, output_px: float = OUTPUT_PX) -> list[tuple[float, str]]:
    """The texts of `fig` drawn smaller than `min_px` pixels in an output area `output_px` wide (text_px)."""
    return [(round(px, 1), text) for px, text in text_px(fig, output_px) if px < min_px - 1e-9]


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
