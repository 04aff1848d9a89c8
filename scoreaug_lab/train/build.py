"""What training, sampling and evaluation of a run share: its data, transform sampler, model and EMA."""
from __future__ import annotations

from types import SimpleNamespace

import torch
from torch.optim.swa_utils import AveragedModel

from ..data import load_data
from ..diffusion import get_variant
from ..models import build_model
from ..transforms import build_sampler
from ..transforms.two_stage import TwoStageSampler
from .config import TrainConfig
from .distributed import DistInfo, rank_device


def resolve_device(spec: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; otherwise the named device (outside torchrun)."""
    return rank_device(spec, DistInfo())


def ema_with_warmup(decay: float):
    """An EMA update for AveragedModel whose decay ramps up as min(decay, (1 + n) / (10 + n)) after n
    updates (the schedule diffusers' EMAModel uses): without it a short run's EMA is still mostly its
    random initialisation (0.999^600 = 55 % after 600 steps)."""

    @torch.no_grad()
    def update(ema_params, model_params, n_averaged):
        n = float(n_averaged)
        d = min(decay, (1.0 + n) / (10.0 + n))
        if not torch.is_floating_point(ema_params[0]):  # integer buffers (counters): take the model's
            for e, p in zip(ema_params, model_params):
                e.copy_(p)
            return
        torch._foreach_lerp_(ema_params, model_params, 1.0 - d)  # the fused kernel AveragedModel uses too

    return update


def build_setup(config: TrainConfig, device=None) -> SimpleNamespace:
    """SimpleNamespace(data, variant, sampler, model, ema, device) for a config."""
    config.validate()
    device = device or resolve_device(config.device)
    data = load_data(config.data, config.n_train, config.n_heldout, config.data_seed)
    variant = get_variant(config.variant)
    sampler = build_augmentation(config, variant, data.kind)
    omega_dim = sampler.omega_dim if variant.conditioned else 0
    extra = {}
    if config.class_cond:
        if not data.num_classes:
            raise ValueError(f"class_cond needs a data set with class labels; {config.data!r} has none")
        extra["label_dim"] = data.num_classes
    torch.manual_seed(config.seed)  # weight initialisation (the same on every rank)
    model = build_model(config.model, data.data_shape, sigma_data=config.sigma_data, omega_dim=omega_dim,
                        **extra, **config.model_kwargs).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    ema = AveragedModel(model, multi_avg_fn=ema_with_warmup(config.ema_decay), use_buffers=True)
    return SimpleNamespace(data=data, variant=variant, sampler=sampler, model=model, ema=ema, device=device)


def build_augmentation(config: TrainConfig, variant, kind: str):
    """The run's transform sampler: None without augmentation, a TransformSampler for one space, a
    TwoStageSampler (clean-space stage, then noisy-space stage) for the combined variant."""
    if not variant.augmented:
        return None
    noisy = build_sampler(config.transforms, kind, config.aug_prob)
    if variant.space != "both":
        return noisy
    return TwoStageSampler(build_sampler(config.clean_transforms, kind, config.clean_aug_prob), noisy)


def has_dropout(model: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0 for m in model.modules())


__all__ = ["build_setup", "build_augmentation", "resolve_device", "ema_with_warmup", "has_dropout"]
