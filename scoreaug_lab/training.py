"""The training loop: a generator that yields its state after every optimiser step.

    for state in train_iter(TrainConfig(...)):   # live plots in notebooks
        ...
    state = train(TrainConfig(...))              # run to the end

AdamW, EMA with a warm-up (torch.optim.swa_utils.AveragedModel), gradient clipping, learning-rate warm-up,
gradient accumulation, a tqdm.auto progress bar, metrics as JSON lines (throughput as samples, i.e.
images, per second), atomic checkpoints and exact resume: every random number (batch indices, x-flips,
sigma, noise, transforms, label dropout) comes from one generator whose state is checkpointed, so on the
CPU N steps + resume M steps equal N + M steps bit for bit. Dropout inside the network is seeded per
(seed, rank, step), so it resumes exactly as well.

At scale: bf16 autocast on CUDA (`amp`), channels_last, torch.compile, and data parallelism under
torchrun (see `scoreaug_lab.distributed`): each step draws the whole global batch from the shared
generator and every rank trains on its shard, so N processes take the same steps as one process.

Run folder (`out`): config.json, metrics.jsonl, checkpoint.pt (written by rank 0 only).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import torch
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm

from .checkpoint import atomic_save, load_checkpoint, save_json
from .data import data_kind, load_data
from .diffusion import diffusion_loss, draw_training_noise, get_variant
from .distributed import (DistInfo, check_same_on_all_ranks, distributed_context, mean_over_ranks,
                          micro_batch_size, rank_device, rank_step_seed, shard_slice)
from .metrics import overfitting_gap
from .presets import PAPER_TRANSFORMS
from .models import build_model
from .models.embedding import drop_labels, labels_to_onehot
from .transforms import build_sampler, parse_transforms

CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
METRICS = "metrics.jsonl"

# What "auto" means for --model and --transforms, per data kind.
DEFAULT_MODELS = {"points": "mlp", "images": "unet-tiny"}
DEFAULT_TRANSFORMS = {"points": "rot90,flip", "images": PAPER_TRANSFORMS}


@dataclass
class TrainConfig:
    data: str = "toy:gmm8"
    n_train: int = 64
    n_heldout: int = 2000
    data_seed: int = 0
    variant: str = "noaug"
    transforms: str = "auto"     # auto: rot90,flip for points; the paper's four for images
    aug_prob: float = 0.5
    model: str = "auto"          # auto: mlp for points, unet-tiny for images
    model_kwargs: dict = field(default_factory=dict)
    sigma_data: float = 0.5
    steps: int = 3000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.0
    warmup_steps: int = 0
    grad_clip: float = 1.0
    grad_accum: int = 1
    ema_decay: float = 0.999
    seed: int = 0
    out: str | None = None
    ckpt_every: int = 1000
    log_every: int = 50
    eval_every: int = 0          # 0: no periodic train/held-out evaluation
    device: str = "auto"
    amp: bool = False            # bf16 autocast (CUDA only)
    progress: bool = True
    xflip: bool = False          # clean dataset x-flip with probability 1/2 (images), from the generator
    class_cond: bool = False     # condition on class labels (needs a labelled data set)
    label_dropout: float = 0.0   # probability of dropping a label (classifier-free guidance)
    channels_last: bool = False  # NHWC memory format for image models
    compile: bool = False        # torch.compile the training forward
    preset: str = ""             # the preset this run started from (a label; the values are above)

    def __post_init__(self):
        """Resolve model="auto" and transforms="auto" by data kind (left alone for an unknown spec,
        which `validate` reports)."""
        try:
            kind = data_kind(self.data)
        except ValueError:
            return
        if self.model in ("auto", "", None):
            self.model = DEFAULT_MODELS[kind]
        if self.transforms in ("auto", "", None):
            self.transforms = DEFAULT_TRANSFORMS[kind]

    def validate(self) -> "TrainConfig":
        get_variant(self.variant)
        kind = data_kind(self.data)
        parse_transforms(self.transforms, kind)  # a typo fails even when unused
        positive = {"n_train": self.n_train, "steps": self.steps, "batch_size": self.batch_size,
                    "grad_accum": self.grad_accum, "log_every": self.log_every, "ckpt_every": self.ckpt_every}
        for name, value in positive.items():
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if self.batch_size % self.grad_accum:
            raise ValueError(f"batch_size {self.batch_size} is not divisible by grad_accum {self.grad_accum}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), got {self.ema_decay}")
        if not 0.0 <= self.aug_prob <= 1.0:
            raise ValueError(f"aug_prob must lie in [0, 1], got {self.aug_prob}")
        if self.eval_every < 0 or self.warmup_steps < 0:
            raise ValueError("eval_every and warmup_steps must be >= 0")
        if not (self.grad_clip >= 0 and math.isfinite(self.grad_clip)):
            raise ValueError(f"grad_clip must be >= 0 (0: no clipping), got {self.grad_clip}")
        if not 0.0 <= self.label_dropout <= 1.0:
            raise ValueError(f"label_dropout must lie in [0, 1], got {self.label_dropout}")
        if self.label_dropout and not self.class_cond:
            raise ValueError("label_dropout needs class_cond (--class-cond)")
        if kind != "images" and (self.xflip or self.channels_last):
            raise ValueError(f"xflip and channels_last are for image data, not {self.data!r}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# Fields that may differ between a run and its resumption; all others must match the checkpoint.
RESUMABLE_CHANGES = {"steps", "out", "progress", "device", "ckpt_every", "log_every", "eval_every", "amp",
                     "compile", "channels_last", "preset"}


def check_resumable(saved: dict, config: TrainConfig) -> None:
    """A clear error when a run folder is resumed with a different set-up."""
    current = config.to_dict()
    # A field missing from an older checkpoint had its default value then.
    defaults = {f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
                for f in dataclasses.fields(TrainConfig)}
    diffs = [f"{k}={saved.get(k, defaults[k])!r} (now {current[k]!r})" for k in current
             if k not in RESUMABLE_CHANGES and saved.get(k, defaults[k]) != current[k]]
    if diffs:
        raise ValueError(f"{config.out} holds a checkpoint of a different run: {', '.join(diffs)}; "
                         "use the same options, a new --out, or --fresh to start over")


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


def build_setup(config: TrainConfig, device=None):
    """Data, transform sampler, model and EMA for a config: what training, sampling and evaluation share."""
    config.validate()
    device = device or resolve_device(config.device)
    data = load_data(config.data, config.n_train, config.n_heldout, config.data_seed)
    variant = get_variant(config.variant)
    sampler = build_sampler(config.transforms, data.kind, config.aug_prob) if variant.augmented else None
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


def _learning_rate(config: TrainConfig, step: int) -> float:
    if config.warmup_steps and step <= config.warmup_steps:
        return config.lr * step / config.warmup_steps
    return config.lr


def _truncate_metrics(path: Path, last_step: int) -> None:
    """On resume drop metric lines written after the checkpoint (they will be written again)."""
    if not path.exists():
        return
    keep = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= last_step]
    path.write_text("".join(line + "\n" for line in keep))


def _checkpoint_state(config, step, setup, optimizer, generator) -> dict:
    return {"step": step, "config": config.to_dict(), "model": setup.model.state_dict(),
            "ema": setup.ema.state_dict(), "optimizer": optimizer.state_dict(),
            "generator": generator.get_state()}


def has_dropout(model: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0 for m in model.modules())


def _wrap_for_training(model, config: TrainConfig, info: DistInfo, device):
    """(net, ddp): the module the loss calls (DDP and/or torch.compile around `model`) and the DDP
    wrapper (None when not distributed), whose no_sync() skips the all-reduce of accumulation steps."""
    ddp = None
    net = model
    if info.distributed:
        from torch.nn.parallel import DistributedDataParallel
        ddp = net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if config.compile:
        net = torch.compile(net)
    return net, ddp


def train_iter(config: TrainConfig, resume: bool = True):
    """Yield SimpleNamespace(step, loss, grad_norm, lr, model, ema, setup, config, metrics, rank,
    world_size, shard) after each step; `shard` holds this rank's positions in the global batch and
    `loss` is the global batch's mean. Under torchrun it joins (or creates) the process group first."""
    config.validate()
    with distributed_context(config.device) as (info, device):
        yield from _train_loop(config, resume, info, device)


def _train_loop(config: TrainConfig, resume: bool, info: DistInfo, device):
    micro = micro_batch_size(config.batch_size, info.world_size, config.grad_accum)
    setup = build_setup(config, device)
    model, ema, data, device = setup.model, setup.ema, setup.data, setup.device
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    start = 0
    out = Path(config.out) if config.out else None
    if out is not None:
        if info.is_main:
            out.mkdir(parents=True, exist_ok=True)
        if resume and (out / CHECKPOINT).exists():
            ckpt = load_checkpoint(out / CHECKPOINT, map_location=device)
            check_resumable(ckpt["config"], config)
            model.load_state_dict(ckpt["model"])
            ema.load_state_dict(ckpt["ema"])
            optimizer.load_state_dict(ckpt["optimizer"])
            generator.set_state(ckpt["generator"].cpu())
            start = int(ckpt["step"])
            if info.is_main:
                _truncate_metrics(out / METRICS, start)
        if info.is_main:
            save_json(config.to_dict(), out / CONFIG)
    check_same_on_all_ranks(start, info, device, "the step this run resumes from")
    net, ddp = _wrap_for_training(model, config, info, device)  # after loading: DDP broadcasts rank 0's weights

    train_x = data.train.to(device)
    # class labels as one-hot rows, converted (and range-checked) once rather than every step
    train_y = labels_to_onehot(data.train_labels.to(device), data.num_classes) if config.class_cond else None
    batch_shape = (config.batch_size, *train_x.shape[1:])
    shard = shard_slice(config.batch_size, info.rank, info.world_size)
    mine = torch.arange(config.batch_size, device=device)[shard]
    # this rank's micro-batches of the global batch, as slices (views: cheaper than index tensors)
    parts = [slice(a, min(a + micro, shard.stop)) for a in range(shard.start, shard.stop, micro)]
    use_amp = config.amp and device.type == "cuda"
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    rank_local_rng = has_dropout(model)
    bar = tqdm(total=config.steps, initial=start, disable=not (config.progress and info.is_main),
               desc=f"train {config.variant}", dynamic_ncols=True)
    log = open(out / METRICS, "a") if out is not None and info.is_main else None
    t_last, step_last = time.perf_counter(), start
    done, done_rng, saved = start, generator.get_state(), start  # last completed step and its RNG state
    try:
        for step in range(start + 1, config.steps + 1):
            lr = _learning_rate(config, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            # The whole global batch's randomness, drawn identically on every rank, in a fixed order.
            idx = torch.randint(train_x.shape[0], (config.batch_size,), generator=generator, device=device)
            flip = (torch.rand(config.batch_size, generator=generator, device=device) < 0.5) if config.xflip else None
            noise = draw_training_noise(batch_shape, setup.variant, setup.sampler, generator, device, train_x.dtype)
            labels = None
            if train_y is not None:
                labels = train_y[idx]  # (B, K)
                if config.label_dropout > 0:
                    labels = drop_labels(labels, config.label_dropout, generator)
            if rank_local_rng:
                torch.manual_seed(rank_step_seed(config.seed, info.rank, step))  # dropout masks
            loss_sum = torch.zeros((), device=device)
            for k, part in enumerate(parts):
                x0 = train_x[idx[part]]
                if flip is not None:
                    x0 = torch.where(flip[part].reshape(-1, 1, 1, 1), x0.flip(-1), x0)
                x0 = x0.contiguous(memory_format=memory_format) if x0.ndim == 4 else x0
                sync = ddp is None or k == len(parts) - 1
                with contextlib.nullcontext() if sync else ddp.no_sync():  # all-reduce on the last one only
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                        batch = diffusion_loss(net, x0, setup.variant, setup.sampler, noise=noise.select(part),
                                               labels=None if labels is None else labels[part],
                                               sigma_data=model.sigma_data)
                    (batch.loss / config.grad_accum).backward()
                loss_sum += batch.loss.detach() / config.grad_accum
            loss_total = mean_over_ranks(loss_sum, info).item()
            # grad_clip = 0: no clipping (max_norm = inf leaves the gradients untouched), norm still logged
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip or math.inf).item()
            optimizer.step()
            ema.update_parameters(model)
            done, done_rng = step, generator.get_state()
            metrics = {"step": step, "loss": loss_total, "grad_norm": grad_norm, "lr": lr}
            if step % config.log_every == 0 or step == config.steps:
                now = time.perf_counter()
                metrics["samples_per_sec"] = (step - step_last) * config.batch_size / max(now - t_last, 1e-9)
                t_last, step_last = now, step
                bar.set_postfix(loss=f"{loss_total:.4f}", img_s=f"{metrics['samples_per_sec']:.0f}")
                if log is not None:
                    log.write(json.dumps(metrics) + "\n")
                    log.flush()
            if config.eval_every and info.is_main and (step % config.eval_every == 0 or step == config.steps):
                gap = overfitting_gap(ema.module, data.train, data.heldout, n_per_band=256, seed=config.seed)
                metrics["eval"] = gap
                if log is not None:
                    log.write(json.dumps({"step": step, "eval": gap}) + "\n")
                    log.flush()
            if out is not None and info.is_main and (step % config.ckpt_every == 0 or step == config.steps):
                atomic_save(_checkpoint_state(config, step, setup, optimizer, generator), out / CHECKPOINT)
                saved = step
            bar.update(1)
            yield SimpleNamespace(step=step, loss=loss_total, grad_norm=grad_norm, lr=lr, model=model, ema=ema,
                                  setup=setup, config=config, metrics=metrics, rank=info.rank,
                                  world_size=info.world_size, shard=mine)
    except (KeyboardInterrupt, GeneratorExit):
        # Stopped by the user (Ctrl-C, or a notebook leaving the loop): keep the last completed step,
        # with the random state it ended with, so that a resume continues exactly.
        if out is not None and info.is_main and done > saved:
            generator.set_state(done_rng)
            atomic_save(_checkpoint_state(config, done, setup, optimizer, generator), out / CHECKPOINT)
        raise
    finally:
        bar.close()
        if log is not None:
            log.close()


def train(config: TrainConfig, resume: bool = True):
    """Run `train_iter` to the end; return the last state (None when the run had already finished)."""
    state = None
    for state in train_iter(config, resume=resume):
        pass
    return state
