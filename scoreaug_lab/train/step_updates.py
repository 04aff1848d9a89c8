"""Gradient clipping and the EMA update of a training step: torch's own functions, bit for bit, without their
per-step bookkeeping on small CPU models.

On the walkthrough's toy MLP (100 k parameters, 6 ms a step on one core) torch's `clip_grad_norm_` and
`AveragedModel.update_parameters` cost more in Python bookkeeping (walking both module trees, detaching,
regrouping tensors by device and dtype, every step) than in arithmetic. `StepUpdates` makes the tensor lists and
groups once and then calls torch's public functions on them (`get_total_norm`, `clip_grads_with_norm_`, the EMA's
own `multi_avg_fn`), so the numbers are identical (tests/test_train_step_updates.py checks the weights bit for bit
against torch's path; benchmarks/step_updates.py times the three ways). Any set-up it does not recognise takes
torch's path every step.
"""
from __future__ import annotations

import itertools

import torch
from torch.optim.swa_utils import AveragedModel


class StepUpdates:
    def __init__(self, model: torch.nn.Module, ema: AveragedModel):
        self.model, self.ema = model, ema
        self.params = list(model.parameters())
        # CPU tensors of one dtype: one group for torch's foreach kernels, and no device to sync with
        self.cpu_one_group = (all(p.device.type == "cpu" for p in self.params)
                              and len({p.dtype for p in self.params}) == 1)
        self.ema_groups = None   # listed at the first EMA update (torch's own, which copies the weights)

    def clip_gradients(self, max_norm: float) -> torch.Tensor:
        """`torch.nn.utils.clip_grad_norm_(parameters, max_norm)`: the total norm (2-norm of the per-tensor
        2-norms) and the scaling by min(1, max_norm / (norm + 1e-6)), through its two public halves."""
        grads = [p.grad for p in self.params if p.grad is not None]
        if not (self.cpu_one_group and grads):
            return torch.nn.utils.clip_grad_norm_(self.params, max_norm)
        total = torch.nn.utils.get_total_norm(grads, 2.0)
        torch.nn.utils.clip_grads_with_norm_(self.params, max_norm, total)   # it takes the parameters
        return total

    def update_ema(self) -> None:
        """`self.ema.update_parameters(self.model)`: after the first update, the same `multi_avg_fn` on the same
        groups (parameters then buffers, by device and dtype) with the same count, then one more in the count."""
        ema = self.ema
        if self.ema_groups is None:
            ema.update_parameters(self.model)
            self.ema_groups = ema_groups(ema, self.model)
        elif self.ema_groups is False or "update_parameters" in vars(ema):   # replaced on the instance: call it
            ema.update_parameters(self.model)
        else:
            with torch.no_grad():
                for device, ema_tensors, model_tensors in self.ema_groups:
                    ema.multi_avg_fn(ema_tensors, model_tensors, ema.n_averaged.to(device))
            ema.n_averaged += 1


def ema_groups(ema: AveragedModel, model: torch.nn.Module):
    """[(device, ema tensors, model tensors)] grouped as AveragedModel.update_parameters groups them (use_buffers
    with a multi_avg_fn; the averaging is elementwise, so only the grouping matters), or False where that method
    would do anything else."""
    if (type(ema).update_parameters is not AveragedModel.update_parameters or ema.multi_avg_fn is None
            or not ema.use_buffers):
        return False
    ema_tensors = list(itertools.chain(ema.module.parameters(), ema.module.buffers()))
    model_tensors = list(itertools.chain(model.parameters(), model.buffers()))
    if len(ema_tensors) != len(model_tensors) or any(
            (a.device, a.dtype) != (b.device, b.dtype) for a, b in zip(ema_tensors, model_tensors)):
        return False
    groups = {}
    for a, b in zip(ema_tensors, model_tensors):
        ema_group, model_group = groups.setdefault((a.device, a.dtype), ([], []))
        ema_group.append(a)
        model_group.append(b)
    return [(device, ema_group, model_group) for (device, _), (ema_group, model_group) in groups.items()]
