"""The one training loop of the toolkit: a generator that yields its state after every optimiser step.

    for state in train_iter(TrainConfig(...)):   # live plots in notebooks
        ...
    state = train(TrainConfig(...))              # run to the end

One step (`Trainer.train_step`): draw the whole batch's randomness, compute the EDM-weighted loss of the
variant (`diffusion.diffusion_loss`), `loss.backward()`, clip, `optimizer.step()`, update the EMA. Around
it, named pieces: restoring a run folder (`runs.folder.RunFolder`), logging, evaluation and checkpoints.

AdamW, EMA with a warm-up (torch.optim.swa_utils.AveragedModel), gradient clipping, learning-rate warm-up,
gradient accumulation, a tqdm.auto progress bar, metrics as JSON lines, atomic checkpoints and exact resume:
every random number comes from two generators whose states are checkpointed: batch indices, x-flips, sigma,
noise and label dropout from the run's generator, transform choices and parameters from a second one (so that
runs of one seed that differ only in their augmentation see the same batches, sigma and noise at every step:
common random numbers). On the CPU N steps + resume M steps equal N + M steps bit for bit.
Dropout inside the network is seeded per (seed, rank, step), so it resumes exactly as well. A Ctrl-C lands
between steps (a step and its bookkeeping are one unit); a non-finite loss stops the run at the next log or
checkpoint step with a one-line error naming the step, keeping the last good checkpoint.

At scale: bf16 autocast on CUDA (`amp`), channels_last, torch.compile, and data parallelism under
torchrun (see `scoreaug_lab.train.distributed`): each step draws the whole global batch from the shared
generator and every rank trains on its shard, so N processes take the same steps as one process.
"""
from __future__ import annotations

import contextlib
import math
import time

import torch
from tqdm.auto import tqdm

from ..diffusion import diffusion_loss, draw_training_randomness
from ..evaluate.metrics import low_sigma_mean, overfitting_gap
from ..models.embedding import drop_labels, labels_to_onehot
from ..runs.checkpoint import check_run_checkpoint, load_weights
from ..runs.folder import CHECKPOINT, CONFIG, METRICS, RunFolder, read_metrics
from .build import build_setup, has_dropout, resolve_device
from .config import TrainConfig, check_resumable
from .distributed import (
    DistInfo, check_same_on_all_ranks, distributed_context, mean_over_ranks, micro_batch_size, rank_step_seed,
    shard_slice)
from .interrupts import save_completed_step, step_boundary
from .resources import check_fits
from .step_updates import StepUpdates


AUGMENT_STREAM = 0x5A   # the transform generator's seed is the run's seed + this


class NonFiniteLoss(ValueError):
    """The loss became NaN or infinite; the run stopped, its last good checkpoint is kept."""


class StepState:
    """What `train_iter` yields after each step. `loss` and `grad_norm` are read from the device only when
    asked for (no host sync per step unless the caller wants the numbers)."""

    def __init__(self, trainer: "Trainer", step: int, loss: torch.Tensor, grad_norm: torch.Tensor, lr: float,
                 metrics: dict):
        self.step, self.lr, self.metrics = step, lr, metrics
        self.loss_tensor, self.grad_norm_tensor = loss, grad_norm
        self.model, self.ema, self.setup, self.config = trainer.model, trainer.ema, trainer.setup, trainer.config
        self.rank, self.world_size, self.shard = trainer.info.rank, trainer.info.world_size, trainer.mine

    @property
    def loss(self) -> float:
        return self.loss_tensor.item()

    @property
    def grad_norm(self) -> float:
        return self.grad_norm_tensor.item()


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW; torch's fused kernel (one pass over all parameters instead of a Python loop over them) wherever
    it exists: CPU and CUDA float parameters. Same update rule; results agree with the loop to rounding (~1e-6)."""
    params = list(model.parameters())
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused or None)


class Trainer:
    """Everything one run holds while it trains: set-up, optimiser, generator, run folder, batch layout."""

    def __init__(self, config: TrainConfig, info: DistInfo, device: torch.device):
        self.config, self.info = config, info
        self.setup = setup = build_setup(config, device)
        self.model, self.ema, self.device = setup.model, setup.ema, setup.device
        self.model.check_values = False   # the data are checked once where they enter (load_data), not per step
        self.optimizer = build_optimizer(self.model, config)
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.augment_generator = torch.Generator(device=self.device).manual_seed(config.seed + AUGMENT_STREAM)
        self.folder = RunFolder(config.out) if config.out is not None and info.is_main else None
        # about 16 values per input value (input, target, noise, transform copies, gradients): refuse early
        check_fits(f"a training batch of {config.batch_size:,}", 16 * 4 * config.batch_size * setup.data.train[0].numel())
        self.train_x = setup.data.train.to(self.device)
        # class labels as one-hot rows, converted (and range-checked) once rather than every step
        self.train_y = (labels_to_onehot(setup.data.train_labels.to(self.device), setup.data.num_classes)
                        if config.class_cond else None)
        self._batch_layout()
        self.updates = StepUpdates(self.model, self.ema)   # clipping and EMA, torch's own bit for bit
        self.bad_step = torch.zeros((), dtype=torch.long, device=self.device)  # first non-finite step, 0: none
        self.best_heldout = math.inf   # keep_best: the lowest held-out loss saved so far

    def _batch_layout(self) -> None:
        config, info = self.config, self.info
        micro = micro_batch_size(config.batch_size, info.world_size, config.grad_accum)
        shard = shard_slice(config.batch_size, info.rank, info.world_size)
        self.mine = torch.arange(config.batch_size, device=self.device)[shard]
        # this rank's micro-batches of the global batch, as slices (views: cheaper than index tensors)
        self.parts = [slice(a, min(a + micro, shard.stop)) for a in range(shard.start, shard.stop, micro)]
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.use_amp = config.amp and self.device.type == "cuda"
        self.rank_local_rng = has_dropout(self.model)

    # --- restore ------------------------------------------------------------------------------------
    def restore(self, resume: bool) -> int:
        """Load the run folder's checkpoint (when resuming) and return the step it ends at."""
        start = 0
        if self.config.out is not None:
            folder = self.folder or RunFolder(self.config.out)   # other ranks read, never write
            ckpt = folder.checkpoint(self.device) if resume else None
            if ckpt is not None:
                path = folder.path / CHECKPOINT
                check_run_checkpoint(ckpt, path)
                check_resumable(ckpt["config"], self.config)
                load_weights(self.model, ckpt["model"], path)
                load_weights(self.ema, ckpt["ema"], path, "EMA")
                load_weights(self.optimizer, ckpt["optimizer"], path, "optimizer")
                self.generator.set_state(ckpt["generator"].cpu())
                if "augment_generator" in ckpt:   # absent from checkpoints written before the streams were split
                    self.augment_generator.set_state(ckpt["augment_generator"].cpu())
                start = int(ckpt["step"])
        check_same_on_all_ranks(start, self.info, self.device, "the step this run resumes from")
        if self.config.keep_best and self.folder is not None:   # the best evaluation up to the resumed step
            evals = [r for r in read_metrics(self.folder.path) if "eval" in r and r["step"] <= start]
            self.best_heldout = min((low_sigma_mean(r["eval"], "heldout") for r in evals), default=math.inf)
        return start

    def checkpoint_state(self, step: int) -> dict:
        return {"step": step, "config": self.config.to_dict(), "model": self.model.state_dict(),
                "ema": self.ema.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(), "augment_generator": self.augment_generator.get_state()}

    # --- one step -----------------------------------------------------------------------------------
    def draw_batch(self):
        """The whole global batch's randomness, drawn identically on every rank, in a fixed order."""
        config, g = self.config, self.generator
        idx = torch.randint(self.train_x.shape[0], (config.batch_size,), generator=g, device=self.device)
        flip = (torch.rand(config.batch_size, generator=g, device=self.device) < 0.5) if config.xflip else None
        shape = (config.batch_size, *self.train_x.shape[1:])
        randomness = draw_training_randomness(shape, self.setup.variant, self.setup.sampler, g, self.device,
                                              self.train_x.dtype, augment_generator=self.augment_generator)
        labels = None
        if self.train_y is not None:
            labels = self.train_y[idx]  # (B, K)
            if config.label_dropout > 0:
                labels = drop_labels(labels, config.label_dropout, g)
        return idx, flip, randomness, labels

    def micro_batch(self, idx, flip, part) -> torch.Tensor:
        """Clean images x0 of one micro-batch (x-flipped where drawn), in the model's memory format."""
        x0 = self.train_x[idx[part]]
        if flip is not None:
            x0 = torch.where(flip[part].reshape(-1, 1, 1, 1), x0.flip(-1), x0)
        return x0.contiguous(memory_format=self.memory_format) if x0.ndim == 4 else x0

    def train_step(self, net, ddp, step: int):
        """One optimiser step; returns (global mean loss, gradient norm) as device tensors."""
        config = self.config
        idx, flip, randomness, labels = self.draw_batch()
        if self.rank_local_rng:
            torch.manual_seed(rank_step_seed(config.seed, self.info.rank, step))  # dropout masks
        self.optimizer.zero_grad(set_to_none=True)
        loss_sum = None
        for k, part in enumerate(self.parts):
            last = k == len(self.parts) - 1
            with contextlib.nullcontext() if ddp is None or last else ddp.no_sync():  # all-reduce once
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_amp):
                    batch = diffusion_loss(net, self.micro_batch(idx, flip, part), randomness.select(part),
                                           self.setup.variant, self.setup.sampler, check=False,
                                           labels=None if labels is None else labels[part],
                                           sigma_data=self.model.sigma_data)
                # this micro-batch's share of the step's loss (without accumulation, the loss itself)
                share = batch.loss / config.grad_accum if config.grad_accum > 1 else batch.loss
                share.backward()
            loss_sum = share.detach() if loss_sum is None else loss_sum + share.detach()
        # grad_clip = 0: no clipping (max_norm = inf leaves the gradients untouched), the norm is still logged
        grad_norm = self.updates.clip_gradients(config.grad_clip or math.inf)
        self.optimizer.step()
        self.updates.update_ema()
        return mean_over_ranks(loss_sum, self.info), grad_norm

    def set_learning_rate(self, step: int) -> float:
        config = self.config
        lr = config.lr * step / config.warmup_steps if config.warmup_steps and step <= config.warmup_steps \
            else config.lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    # --- bookkeeping --------------------------------------------------------------------------------
    def watch_loss(self, step: int, loss: torch.Tensor) -> None:
        """Remember the first step whose loss is not finite (on an accelerator on the device: no sync; on the
        CPU reading the number costs less than the tensor operations)."""
        if loss.device.type == "cpu":
            if not math.isfinite(loss.item()) and not self.bad_step.item():
                self.bad_step = torch.tensor(step, dtype=self.bad_step.dtype)
            return
        first = (self.bad_step == 0) & ~torch.isfinite(loss)
        self.bad_step = torch.where(first, torch.full_like(self.bad_step, step), self.bad_step)

    def stop_if_diverged(self) -> None:
        bad = int(self.bad_step.item())
        if bad:
            raise NonFiniteLoss(f"the loss became non-finite at step {bad} (lower --lr, or check the data and "
                                f"options); stopped, the last good checkpoint is kept")

    def evaluate(self, step: int) -> list:
        data = self.setup.data
        return overfitting_gap(self.ema.module, data.train, data.heldout, n_per_band=256, seed=self.config.seed)

    def keep_if_best(self, step: int, bands: list) -> None:
        """keep_best: save the EMA weights when this evaluation's held-out loss (bands below sigma = 1) is the
        lowest so far (ties keep the earlier step)."""
        heldout = low_sigma_mean(bands, "heldout")
        if heldout < self.best_heldout:
            self.folder.save_best({"step": step, "heldout": heldout, "config": self.config.to_dict(),
                                   "ema": self.ema.state_dict()})
            self.best_heldout = heldout


def train_iter(config: TrainConfig, resume: bool = True):
    """Yield a `StepState` after each step (step, loss, grad_norm, lr, model, ema, setup, config, metrics,
    rank, world_size, shard); `shard` holds this rank's positions in the global batch and `loss` is the
    global batch's mean. Under torchrun it joins (or creates) the process group first."""
    config.validate()
    with distributed_context(config.device) as (info, device):
        trainer = Trainer(config, info, device)
        if trainer.folder is not None:
            trainer.folder.open()
        try:
            yield from _train_loop(trainer, resume)
        finally:
            trainer.model.check_values = True   # outside training, the model checks its inputs again
            if trainer.folder is not None:
                trainer.folder.close()


def _train_loop(trainer: Trainer, resume: bool):
    config, info, folder = trainer.config, trainer.info, trainer.folder
    start = trainer.restore(resume)
    if start >= config.steps:
        return  # already trained this far: nothing to do, nothing rewritten
    if folder is not None:
        folder.start(config.to_dict(), start)
    net, ddp = _wrap_for_training(trainer.model, config, info, trainer.device)  # after loading: DDP broadcasts
    bar = tqdm(total=config.steps, initial=start, disable=not (config.progress and info.is_main),
               desc=f"train {config.variant}", dynamic_ncols=True)
    clock = [time.perf_counter(), start]
    done = saved = start   # the last completed step, and the last one checkpointed
    torn = False           # inside a step: weights and generators are in neither its state nor the last one's
    try:
        for step in range(start + 1, config.steps + 1):
            with step_boundary():   # a Ctrl-C inside lands after the step and its bookkeeping
                torn = True
                lr = trainer.set_learning_rate(step)
                loss, grad_norm = trainer.train_step(net, ddp, step)
                trainer.watch_loss(step, loss)
                metrics = _bookkeeping(trainer, step, loss, grad_norm, lr, bar, clock)
                done, torn = step, False
                if folder is not None and (step % config.ckpt_every == 0 or step == config.steps):
                    trainer.stop_if_diverged()
                    folder.save(trainer.checkpoint_state(step))
                    saved = step
                    if step == config.steps:
                        folder.seal()    # finished: read-only to the rest of a class store
                bar.update(1)
            yield StepState(trainer, step, loss, grad_norm, lr, metrics)
    except (KeyboardInterrupt, GeneratorExit):
        # Stopped by the user (Ctrl-C, or a notebook leaving the loop): keep the last completed step with the
        # random state it ended with, so that a resume continues exactly (never a step stopped half-way).
        save_completed_step(folder, trainer, done, saved, torn)
        raise
    finally:
        bar.close()


def _bookkeeping(trainer: Trainer, step: int, loss, grad_norm, lr: float, bar, clock: list) -> dict:
    """Metric lines every `log_every` steps (and at the end) and the periodic train/held-out evaluation."""
    config, folder = trainer.config, trainer.folder
    metrics = {"step": step, "lr": lr}
    if step % config.log_every == 0 or step == config.steps:
        trainer.stop_if_diverged()
        now = time.perf_counter()
        metrics.update(loss=loss.item(), grad_norm=grad_norm.item(),
                       samples_per_sec=(step - clock[1]) * config.batch_size / max(now - clock[0], 1e-9))
        clock[:] = [now, step]
        bar.set_postfix(loss=f"{metrics['loss']:.4f}", img_s=f"{metrics['samples_per_sec']:.0f}")
        if folder is not None:
            folder.log(metrics)
    if config.eval_every and trainer.info.is_main and (step % config.eval_every == 0 or step == config.steps):
        metrics["eval"] = trainer.evaluate(step)
        if folder is not None:
            folder.log({"step": step, "eval": metrics["eval"]})
            if config.keep_best:
                trainer.keep_if_best(step, metrics["eval"])
    return metrics


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


def train(config: TrainConfig, resume: bool = True):
    """Run `train_iter` to the end; return the last state (None when the run had already finished)."""
    state = None
    for state in train_iter(config, resume=resume):
        pass
    return state


__all__ = ["TrainConfig", "Trainer", "StepState", "NonFiniteLoss", "train_iter", "train", "build_setup",
           "resolve_device", "CHECKPOINT", "CONFIG", "METRICS"]
