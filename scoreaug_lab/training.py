"""The training loop: a generator that yields its state after every optimiser step.

    for state in train_iter(TrainConfig(...)):   # live plots in notebooks
        ...
    state = train(TrainConfig(...))              # run to the end

AdamW, EMA (torch.optim.swa_utils.AveragedModel), gradient clipping, learning-rate warm-up,
gradient accumulation, a tqdm.auto progress bar, metrics as JSON lines, atomic checkpoints and exact
resume: every random number (batch indices, sigma, noise, transforms) comes from one generator whose
state is checkpointed, so on the CPU N steps + resume M steps equal N + M steps bit for bit.

Run folder (`out`): config.json, metrics.jsonl, checkpoint.pt.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from .checkpoint import atomic_save, load_checkpoint, save_json
from .data import data_kind, load_data
from .diffusion import diffusion_loss, draw_training_noise, get_variant
from .metrics import overfitting_gap
from .models import build_model
from .transforms import build_sampler, parse_transforms

CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
METRICS = "metrics.jsonl"


@dataclass
class TrainConfig:
    data: str = "toy:gmm8"
    n_train: int = 64
    n_heldout: int = 2000
    data_seed: int = 0
    variant: str = "noaug"
    transforms: str = "rot90,flip"
    aug_prob: float = 0.5
    model: str = "mlp"
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

    def validate(self) -> "TrainConfig":
        get_variant(self.variant)
        parse_transforms(self.transforms, data_kind(self.data))  # a typo fails even when unused
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
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# Fields that may differ between a run and its resumption; all others must match the checkpoint.
RESUMABLE_CHANGES = {"steps", "out", "progress", "device", "ckpt_every", "log_every", "eval_every", "amp"}


def check_resumable(saved: dict, config: TrainConfig) -> None:
    """A clear error when a run folder is resumed with a different set-up."""
    current = config.to_dict()
    diffs = [f"{k}={saved.get(k)!r} (now {current[k]!r})" for k in current
             if k not in RESUMABLE_CHANGES and saved.get(k) != current[k]]
    if diffs:
        raise ValueError(f"{config.out} holds a checkpoint of a different run: {', '.join(diffs)}; "
                         "use the same options, a new --out, or --fresh to start over")


def resolve_device(spec: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; otherwise the named device."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA device is available")
    return device


def build_setup(config: TrainConfig, device=None):
    """Data, transform sampler, model and EMA for a config: what training, sampling and evaluation share."""
    config.validate()
    device = device or resolve_device(config.device)
    data = load_data(config.data, config.n_train, config.n_heldout, config.data_seed)
    variant = get_variant(config.variant)
    sampler = build_sampler(config.transforms, data.kind, config.aug_prob) if variant.augmented else None
    omega_dim = sampler.omega_dim if variant.conditioned else 0
    torch.manual_seed(config.seed)  # weight initialisation
    model = build_model(config.model, data.data_shape, sigma_data=config.sigma_data, omega_dim=omega_dim,
                        **config.model_kwargs).to(device)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
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


def train_iter(config: TrainConfig, resume: bool = True):
    """Yield SimpleNamespace(step, loss, grad_norm, lr, model, ema, setup, config, metrics) after each step."""
    setup = build_setup(config)
    model, ema, data, device = setup.model, setup.ema, setup.data, setup.device
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    start = 0
    out = Path(config.out) if config.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if resume and (out / CHECKPOINT).exists():
            ckpt = load_checkpoint(out / CHECKPOINT, map_location=device)
            check_resumable(ckpt["config"], config)
            model.load_state_dict(ckpt["model"])
            ema.load_state_dict(ckpt["ema"])
            optimizer.load_state_dict(ckpt["optimizer"])
            generator.set_state(ckpt["generator"].cpu())
            start = int(ckpt["step"])
            _truncate_metrics(out / METRICS, start)
        save_json(config.to_dict(), out / CONFIG)

    train_x = data.train.to(device)
    train_y = data.train_labels.to(device) if data.train_labels is not None else None
    micro = config.batch_size // config.grad_accum
    use_amp = config.amp and device.type == "cuda"
    bar = tqdm(total=config.steps, initial=start, disable=not config.progress, desc=f"train {config.variant}",
               dynamic_ncols=True)
    log = open(out / METRICS, "a") if out is not None else None
    t_last = time.perf_counter()
    done, done_rng, saved = start, generator.get_state(), start  # last completed step and its RNG state
    try:
        for step in range(start + 1, config.steps + 1):
            lr = _learning_rate(config, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            idx = torch.randint(train_x.shape[0], (config.batch_size,), generator=generator, device=device)
            noise = draw_training_noise((config.batch_size, *train_x.shape[1:]), setup.variant, setup.sampler,
                                        generator, device, train_x.dtype)
            loss_total = 0.0
            for part in torch.arange(config.batch_size, device=device).split(micro):
                labels = train_y[idx[part]] if train_y is not None else None
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    batch = diffusion_loss(model, train_x[idx[part]], setup.variant, setup.sampler, labels=labels,
                                           noise=noise.select(part))
                (batch.loss / config.grad_accum).backward()
                loss_total += batch.loss.item() / config.grad_accum
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip).item()
            optimizer.step()
            ema.update_parameters(model)
            done, done_rng = step, generator.get_state()
            metrics = {"step": step, "loss": loss_total, "grad_norm": grad_norm, "lr": lr}
            if step % config.log_every == 0 or step == config.steps:
                now = time.perf_counter()
                metrics["samples_per_sec"] = config.log_every * config.batch_size / max(now - t_last, 1e-9)
                t_last = now
                if log is not None:
                    log.write(json.dumps(metrics) + "\n")
                    log.flush()
            if config.eval_every and (step % config.eval_every == 0 or step == config.steps):
                gap = overfitting_gap(ema.module, data.train, data.heldout, n_per_band=256, seed=config.seed)
                metrics["eval"] = gap
                if log is not None:
                    log.write(json.dumps({"step": step, "eval": gap}) + "\n")
                    log.flush()
            if out is not None and (step % config.ckpt_every == 0 or step == config.steps):
                atomic_save(_checkpoint_state(config, step, setup, optimizer, generator), out / CHECKPOINT)
                saved = step
            bar.update(1)
            bar.set_postfix(loss=f"{loss_total:.4f}")
            yield SimpleNamespace(step=step, loss=loss_total, grad_norm=grad_norm, lr=lr, model=model, ema=ema,
                                  setup=setup, config=config, metrics=metrics)
    except (KeyboardInterrupt, GeneratorExit):
        # Stopped by the user (Ctrl-C, or a notebook leaving the loop): keep the last completed step,
        # with the random state it ended with, so that a resume continues exactly.
        if out is not None and done > saved:
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
