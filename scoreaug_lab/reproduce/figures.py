"""The reproduction's figures (PNG): learning curves (the baseline's overfitting shown, not assumed), the
grid's measures against the training-set size, the rotation leak with sample grids, the combination, and
the convergence limitation. Each figure names its seeds and shows their spread (mean ± std over seeds,
thin lines or dots for single seeds)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..plotting import image_grid, plt, seed_strip
from .measures import SAMPLES_FILE
from .runner import samples_readable

ARM_COLOURS = {"noaug": "tab:gray", "scoreaug": "tab:green", "noisy-rot90": "tab:red", "scoreaug-rot90": "tab:blue",
               "clean-geometric": "tab:orange", "combined": "tab:purple"}


def _curves(rows, key):
    """(steps, matrix seeds x steps) of one curve key over the runs `rows` (trimmed to the shortest curve)."""
    curves = [r["curve"] for _, r in rows if r.get("curve")]
    if not curves:
        return None, None
    length = min(len(c) for c in curves)
    return np.array([p["step"] for p in curves[0][:length]]), np.array([[p[key] for p in c[:length]] for c in curves])


def _band(ax, steps, values, colour, label):
    mean = values.mean(0)
    ax.plot(steps, mean, color=colour, lw=2, label=label)
    for row in values:
        ax.plot(steps, row, color=colour, lw=0.6, alpha=0.4)
    if values.shape[0] > 1:
        std = values.std(0, ddof=1)
        ax.fill_between(steps, mean - std, mean + std, color=colour, alpha=0.15)


def _select(table, arm, data, n, cap):
    return [(s, r) for s, r in table.rows if (s.arm, s.data_label, s.n_train, s.capacity) == (arm, data, n, cap)]


def curve_figure(table, data, key, arms, sizes, ylabel, title, path, note: str = "") -> Path | None:
    caps = sorted({c for d, _, c in table.cells(data)}, key=lambda c: int("".join(filter(str.isdigit, c)) or 0))
    if not caps or not sizes:
        return None
    fig, axes = plt.subplots(len(caps), len(sizes), figsize=(4.2 * len(sizes), 3.2 * len(caps)), squeeze=False)
    for i, cap in enumerate(caps):
        for j, n in enumerate(sizes):
            ax = axes[i][j]
            for arm in arms:
                steps, values = _curves(_select(table, arm, data, n, cap), key)
                if steps is not None:
                    _band(ax, steps, values, ARM_COLOURS[arm], f"{arm} ({values.shape[0]} seeds)")
            if key == "gap":
                ax.axhline(0, color="black", lw=0.8)
            ax.set_title(f"{data}, n = {n}, {cap}", fontsize=10)
            ax.set_xlabel("training step")
            ax.set_ylabel(ylabel)
            ax.legend(fontsize=7)
    fig.suptitle(title + f" (thick: mean over seeds, band: ± std, thin: each seed){note}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def grid_figure(table, path, note: str = "") -> Path:
    """Rows: data sets; columns: the proxy FID at the best checkpoint, the lowest held-out loss, the gap and
    memorisation (with the held-out images' level) against the training-set size; one line per (arm,
    capacity): dashed for the smaller capacity."""
    metrics = (("proxy_fid_best", "proxy FID at the best checkpoint"), ("heldout_best", "lowest held-out loss"),
               ("gap", "held-out − training loss (σ < 1)"), ("memorised", "memorised fraction of samples"))
    datas = list(dict.fromkeys(d for d, _, _ in table.cells()))
    fig, axes = plt.subplots(len(datas), len(metrics), figsize=(18, 3.8 * len(datas)), squeeze=False)
    for row, data in zip(axes, datas):
        caps = list(dict.fromkeys(c for d, _, c in table.cells() if d == data))
        sizes = sorted({n for d, n, _ in table.cells() if d == data})
        for ax, (metric, label) in zip(row, metrics):
            for i, cap in enumerate(caps):
                for arm in ("noaug", "scoreaug"):
                    vals = [[r[metric] for _, r in _select(table, arm, data, n, cap)] for n in sizes]
                    means = [np.mean(v) if v else np.nan for v in vals]
                    stds = [np.std(v, ddof=1) if len(v) > 1 else 0.0 for v in vals]
                    ax.errorbar(sizes, means, yerr=stds, color=ARM_COLOURS[arm], ls="-" if i else "--",
                                marker="os^"[i % 3], capsize=3, label=f"{arm}, {cap}")
                    for n, v in zip(sizes, vals):
                        ax.scatter([n] * len(v), v, s=8, color="black", zorder=3)
            if metric == "memorised":
                refs = {s.n_train: r["heldout_memorised"] for s, r in table.rows if s.data_label == data}
                ax.plot(sorted(refs), [refs[n] for n in sorted(refs)], "k:", label="held-out images (reference)")
            if metric == "gap":
                ax.axhline(0, color="black", lw=0.8)
            ax.set_xscale("log")
            ax.set_xticks(sizes, [str(n) for n in sizes])
            ax.minorticks_off()
            ax.set_xlabel(f"training images ({data})")
            ax.set_ylabel(label)
            ax.legend(fontsize=6)
    fig.suptitle("Claims 1-2: no augmentation vs ScoreAug by training-set size and capacity "
                 f"(mean ± std over seeds, dots: seeds){note}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rotation_figure(table, cell, p, margin, path, note: str = "") -> Path:
    """The fraction judged rotated per arm (the no-augmentation samples are the classifier's false-rotation
    level on generated digits; the band is the equivalence margin around their mean) and sample grids."""
    data, n, cap = cell
    arms = ("noaug", "scoreaug-rot90", "noisy-rot90")
    fig = plt.figure(figsize=(17, 4.4))
    ax = fig.add_subplot(1, 4, 1)
    groups = {arm: [r["judged_rotated"] for _, r in _select(table, arm, data, n, cap)] for arm in arms}
    seed_strip(ax, groups, "fraction of samples judged rotated")
    if groups["noaug"]:
        level = float(np.mean(groups["noaug"]))
        ax.axhspan(level - margin, level + margin, color="gray", alpha=0.15, label=f"noaug ± margin {margin}")
    ax.axhline(0.75 * p, color="tab:red", ls="--", label=f"3p/4 = {0.75 * p:.3f} (a full leak)")
    ax.set_title(f"rot90 with p = {p}: the leak", fontsize=11)
    ax.legend(fontsize=9)
    for k, arm in enumerate(arms):
        rows = _select(table, arm, data, n, cap)
        ax = fig.add_subplot(1, 4, 2 + k)
        if rows:
            seed, _ = min(rows, key=lambda sr: sr[0].seed)
            file = Path(table.run_dirs[seed.name]) / SAMPLES_FILE
            if samples_readable(file):
                grid = image_grid(torch.load(file, weights_only=True)[:36], nrow=6)
                ax.imshow(grid.permute(1, 2, 0).numpy(), cmap="gray")
            ax.set_title(f"{arm} samples (seed {seed.seed})", fontsize=11)
        ax.axis("off")
    fig.suptitle(f"Claim 3 on {data}, n = {n}, {cap} (dots: seeds){note}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def combined_figure(table, cell, path, note: str = "") -> Path:
    data, n, cap = cell
    arms = ("clean-geometric", "scoreaug", "combined")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric, label in ((axes[0], "proxy_fid_best", "proxy FID at the best checkpoint (not Inception)"),
                              (axes[1], "heldout_best", "lowest held-out loss (σ < 1)")):
        per_arm = {arm: {s.seed: r[metric] for s, r in _select(table, arm, data, n, cap)} for arm in arms}
        seed_strip(ax, {a: list(v.values()) for a, v in per_arm.items()}, label)
        for seed in sorted(set.intersection(*(set(v) for v in per_arm.values())) if per_arm else []):
            ax.plot(range(len(arms)), [per_arm[a][seed] for a in arms], color="black", lw=0.5, alpha=0.5)
    fig.suptitle(f"Claim 4 on {data}, n = {n}, {cap}: each augmentation alone and combined "
                 f"(dots: seeds, lines join one seed){note}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def band_figure(table, data, n, path, note: str = "") -> Path:
    caps = sorted({c for d, m, c in table.cells(data) if m == n})
    fig, axes = plt.subplots(1, len(caps), figsize=(5 * len(caps), 3.6), squeeze=False)
    for ax, cap in zip(axes[0], caps):
        for k, arm in enumerate(("noaug", "scoreaug")):
            rows = _select(table, arm, data, n, cap)
            if not rows:
                continue
            bands = rows[0][1]["loss_by_band"]
            gaps = np.array([[b["gap"] for b in r["loss_by_band"]] for _, r in rows])
            xs = np.arange(len(bands)) + (k - 0.5) * 0.3
            ax.bar(xs, gaps.mean(0), 0.3, yerr=gaps.std(0, ddof=1) if len(rows) > 1 else None,
                   color=ARM_COLOURS[arm], label=f"{arm} ({len(rows)} seeds)", capsize=3)
            ax.set_xticks(np.arange(len(bands)), [f"{b['sigma_low']:g}-{b['sigma_high']:g}" for b in bands],
                          fontsize=7)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel("σ band")
        ax.set_ylabel("held-out − training loss")
        ax.set_title(f"{data}, n = {n}, {cap}", fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle(f"Overfitting gap per noise band at the end of training (mean ± std over seeds){note}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = ["curve_figure", "grid_figure", "rotation_figure", "combined_figure", "band_figure"]
