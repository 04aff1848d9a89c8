"""Named training configurations: the image presets of `scoreaug-lab train --preset NAME`, and the toy and
digits recipes that notebooks, widgets, benchmarks and `scoreaug-lab prepare` share.

A preset fixes the scale of a run (data, model, batch, duration, optimiser, EMA, augmentation strength),
not the experiment: the variant (noaug, clean-omega, scoreaug, ...) is still chosen with --variant, and
any option given explicitly on the command line overrides the preset's value. A recipe (`toy_config`,
`digits_config`, `mixture_config`) returns a whole TrainConfig at the walkthrough's teaching or test size
(SCOREAUG_SIZE, see `notebook_size`: the one size policy of notebooks, lessons and recipes).
"""
from __future__ import annotations

import os

from .diffusion import get_variant
from .train.config import TrainConfig
from .transforms import PAPER_TRANSFORMS

# The paper's CIFAR-10 setting, re-derived from the EDM paper's description of its DDPM++ CIFAR-10 runs
# (batch 512, 200 M training images, Adam lr 1e-3 with a 10 M-image warm-up, EMA half-life 0.5 M
# images, dropout 0.13, augmentation probability 0.12) with the ScoreAug paper's four linear transforms.
# Dataset x-flips are this preset's choice: EDM's description of its CIFAR-10 runs may not use them (its
# flips sit inside the augmentation pipeline); use --no-xflip to leave them out. bf16 autocast and channels_last are speed options for GPUs.
PAPER_BATCH = 512
PAPER_STEPS = 200_000_000 // PAPER_BATCH            # 390,625 optimiser steps = 200 M images
PAPER_WARMUP = 10_000_000 // PAPER_BATCH            # 19,531 steps = 10 M images
PAPER_EMA = 0.5 ** (PAPER_BATCH / 500_000)          # half-life of 500,000 images: 0.99929 per step

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


# --- the walkthrough's recipes ------------------------------------------------------------------------
# Toy 2-D runs: a small MLP, about 1,000 steps (a few seconds per run on a CPU) at teaching size.
TOY_TRAINING = dict(n_heldout=1000, model="mlp", batch_size=128, lr=3e-3, ema_decay=0.995)
TOY_MODEL = {"teach": dict(width=128, depth=2, fourier_features=32), "test": dict(width=32, depth=1, fourier_features=8)}
TOY_STEPS = {"teach": 1000, "test": 60}
# Digits at their native 8x8 (no padding: a 16x16 canvas costs 4x the pixels and adds only background): a tiny
# two-level U-Net (8x8, 4x4), about 0.18 M parameters at teaching size. 1,000 steps of 32 images, about a minute a
# run on one core: 32 digits are then copied by most samples, 1,000 are not, and augmentation stops the copying,
# each far outside the seed spread (notebooks 04 and 05 show it).
DIGIT_DATA = "digits:8"
# The paper's four transforms with the shift scaled to the image: at most 1 pixel of 8, as CIFAR-10's 4 of 32
# (translate's default of 4 pixels would push half an 8x8 digit out of the frame).
DIGIT_TRANSFORMS = "brightness,translate:max_shift=1,cutout,rot90"
DIGIT_MODEL = {"teach": dict(model_channels=16, channel_mult=(1, 2)),
               "test": dict(model_channels=8, channel_mult=(1, 2), mid_attention=False)}
DIGIT_STEPS = {"teach": 1000, "test": 4}
DIGIT_BATCH = {"teach": 32, "test": 16}
DIGIT_EVALS = {"teach": 5, "test": 1}      # train/held-out evaluations logged during a run (each costs ~2 s)


SIZES = ("teach", "test")      # every notebook runs at its teaching size, or its (smaller) test size


def notebook_size(size: str | None = None) -> str:
    """`size`, else $SCOREAUG_SIZE (teach by default): the one size policy of notebooks, lessons and recipes."""
    size = os.environ.get("SCOREAUG_SIZE", "teach").strip().lower() if size is None else size
    if size not in SIZES:
        raise ValueError(f"the size (SCOREAUG_SIZE) must be one of {', '.join(SIZES)}, got {size!r}")
    return size


def by_size(teach, test, size: str | None = None):
    """`teach` in class, `test` under the test suite: by_size(teach=5000, test=200)."""
    return test if notebook_size(size) == "test" else teach


def _size(size: str | None) -> str:
    return notebook_size(size)


def toy_config(variant: str = "noaug", transforms: str = "rot90,flip", n_train: int = 64, seed: int = 0,
               data: str = "toy:gmm8", aug_prob: float = 0.5, steps: int | None = None, evals: int = 10,
               data_seed: int = 0, size: str | None = None, **overrides) -> TrainConfig:
    """A toy 2-D run: `variant` with `transforms` (ignored, and normalised, without augmentation, so that one
    noaug run serves every transform family) on `n_train` points of `data`; `evals` train/held-out evaluations."""
    size = _size(size)
    steps = TOY_STEPS[size] if steps is None else int(steps)
    augmented = get_variant(variant).augmented
    values = {**TOY_TRAINING, "data": data, "n_train": n_train, "variant": variant,
              "transforms": transforms if augmented else "auto", "aug_prob": aug_prob if augmented else 0.5,
              "model_kwargs": dict(TOY_MODEL[size]), "steps": steps, "seed": seed, "data_seed": data_seed,
              "log_every": max(1, steps // 50), "ckpt_every": steps,
              "eval_every": max(1, steps // evals) if evals else 0}
    return TrainConfig(**{**values, **overrides})


def digits_config(variant: str = "noaug", n_train: int = 32, seed: int = 0, transforms: str = DIGIT_TRANSFORMS,
                  aug_prob: float = 0.5, size: str | None = None, **overrides) -> TrainConfig:
    """A digits run (scikit-learn's 8x8 digits at 8x8): a tiny U-Net; the data draw follows the seed."""
    size = _size(size)
    steps, evals = DIGIT_STEPS[size], DIGIT_EVALS[size]
    values = dict(data=DIGIT_DATA, n_train=n_train, n_heldout=300, model="unet-tiny", model_kwargs=dict(DIGIT_MODEL[size]),
                  variant=variant, transforms=transforms, aug_prob=aug_prob, batch_size=DIGIT_BATCH[size],
                  steps=steps, lr=2e-3, warmup_steps=100, ema_decay=0.998, seed=seed, data_seed=seed,
                  log_every=max(1, steps // 40), eval_every=max(1, steps // evals) if evals else 0, ckpt_every=steps)
    return TrainConfig(**{**values, **overrides})


def mixture_config(steps: int = 400, seed: int = 0, **overrides) -> TrainConfig:
    """A small MLP trained without augmentation on 8,192 points of the 8-mode ring (so many that it learns
    the true distribution rather than the points): the model of the score-field and sampler lessons."""
    values = dict(data="toy:gmm8", n_train=8192, n_heldout=500, model="mlp",
                  model_kwargs=dict(width=64, depth=2, fourier_features=32), batch_size=256, lr=3e-3,
                  ema_decay=0.99, steps=steps, seed=seed, log_every=max(1, steps // 20), ckpt_every=steps)
    return TrainConfig(**{**values, **overrides})


__all__ = ["PRESETS", "PAPER_TRANSFORMS", "get_preset", "toy_config", "digits_config", "mixture_config",
           "TOY_TRAINING", "TOY_MODEL", "TOY_STEPS", "DIGIT_DATA", "DIGIT_TRANSFORMS", "DIGIT_MODEL", "DIGIT_STEPS"]
