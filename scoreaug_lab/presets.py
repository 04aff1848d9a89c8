"""Named training configurations, selected with `scoreaug-lab train --preset NAME`.

A preset fixes the scale of a run (data, model, batch, duration, optimiser, EMA, augmentation strength),
not the experiment: the variant (noaug, clean-omega, scoreaug, ...) is still chosen with --variant, and
any option given explicitly on the command line overrides the preset's value.
"""
from __future__ import annotations

# The paper's CIFAR-10 setting, re-derived from the EDM paper's description of its DDPM++ CIFAR-10 runs
# (batch 512, 200 M training images, Adam lr 1e-3 with a 10 M-image warm-up, EMA half-life 0.5 M
# images, dropout 0.13, augmentation probability 0.12) with the ScoreAug paper's four linear transforms.
# Dataset x-flips are this preset's choice: EDM's description of its CIFAR-10 runs may not use them (its
# flips sit inside the augmentation pipeline); use --no-xflip to leave them out. bf16 autocast and channels_last are speed options for GPUs.
PAPER_BATCH = 512
PAPER_STEPS = 200_000_000 // PAPER_BATCH            # 390,625 optimiser steps = 200 M images
PAPER_WARMUP = 10_000_000 // PAPER_BATCH            # 19,531 steps = 10 M images
PAPER_EMA = 0.5 ** (PAPER_BATCH / 500_000)          # half-life of 500,000 images: 0.99929 per step
PAPER_TRANSFORMS = "brightness,translate,cutout,rot90"

PRESETS = {
    "cifar10-paper": dict(
        data="cifar10", n_train=50_000, n_heldout=10_000, model="unet-ddpmpp", model_kwargs={"dropout": 0.13},
        batch_size=PAPER_BATCH, steps=PAPER_STEPS, lr=1e-3, weight_decay=0.0, warmup_steps=PAPER_WARMUP,
        grad_clip=0.0, ema_decay=PAPER_EMA, transforms=PAPER_TRANSFORMS, aug_prob=0.12, xflip=True,
        amp=True, channels_last=True, log_every=100, ckpt_every=5000),
    # CPU-sized CIFAR-10: a tiny U-Net on 2,000 balanced images (use --data cifar10:FILE.npz offline).
    "cifar10-cpu": dict(
        data="cifar10", n_train=2000, n_heldout=1000, model="unet-tiny", model_kwargs={},
        batch_size=64, steps=3000, lr=1e-3, weight_decay=0.0, warmup_steps=200, grad_clip=1.0,
        ema_decay=0.999, transforms=PAPER_TRANSFORMS, aug_prob=0.5, xflip=True, amp=False,
        channels_last=False, log_every=50, ckpt_every=500),
    # scikit-learn's digits padded to 16x16: trains in minutes on a laptop CPU. No x-flip (digits are not
    # mirror-symmetric).
    "digits-cpu": dict(
        data="digits", n_train=1000, n_heldout=300, model="unet-tiny", model_kwargs={},
        batch_size=64, steps=2000, lr=1e-3, weight_decay=0.0, warmup_steps=100, grad_clip=1.0,
        ema_decay=0.999, transforms=PAPER_TRANSFORMS, aug_prob=0.5, xflip=False, amp=False,
        channels_last=False, log_every=50, ckpt_every=500),
}


def get_preset(name: str) -> dict:
    """A copy of the preset's values (TrainConfig field -> value); a clear error for an unknown name."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    values = dict(PRESETS[name])
    values["model_kwargs"] = dict(values.get("model_kwargs", {}))
    return values


__all__ = ["PRESETS", "get_preset"]
