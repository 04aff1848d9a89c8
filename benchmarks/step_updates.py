"""Gradient clipping and the EMA update of one training step, three ways, on the walkthrough's toy MLP:

    python benchmarks/step_updates.py [--steps 3000] [--chunk 50] [--threads 1]

  torch       torch.nn.utils.clip_grad_norm_(model.parameters()) and AveragedModel.update_parameters(model): every
              step walks both module trees and regroups the tensors by device and dtype
  public      what train.step_updates.StepUpdates does: the tensor lists and groups made once, then torch's public
              get_total_norm / clip_grads_with_norm_ and the EMA's own multi_avg_fn on them
  foreach     the same with torch's private _foreach_norm / _foreach_mul_ (skipping the multiplication by 1)

Three training loops of the same configuration advance in interleaved chunks (the same machine load); the script
prints the median time per step of each and the ratios. Every path gives the same weights
(tests/test_train_step_updates.py checks StepUpdates against torch's path bit for bit).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from scoreaug_lab.presets import toy_config
from scoreaug_lab.train import loop as train_loop
from scoreaug_lab.train.step_updates import StepUpdates


class TorchPath:
    def __init__(self, model, ema):
        self.model, self.ema = model, ema

    def clip_gradients(self, max_norm):
        return torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)

    def update_ema(self):
        self.ema.update_parameters(self.model)


class ForeachPath(StepUpdates):
    def clip_gradients(self, max_norm):
        grads = [p.grad for p in self.params if p.grad is not None]
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
        factor = torch.clamp(float(max_norm) / (total + 1e-6), max=1.0)
        if factor.item() != 1.0:
            torch._foreach_mul_(grads, factor)
        return total


def loop_with(updates_class, steps: int):
    saved = train_loop.StepUpdates
    train_loop.StepUpdates = updates_class
    try:
        loop = train_loop.train_iter(toy_config("scoreaug", size="teach", steps=steps, evals=0, progress=False))
        next(loop)                           # built with this class; the warm-up step
    finally:
        train_loop.StepUpdates = saved
    return loop


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="timed steps per path (default 3000)")
    parser.add_argument("--chunk", type=int, default=50, help="steps per timed chunk (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    loops = {"torch": loop_with(TorchPath, args.steps + 2), "public": loop_with(StepUpdates, args.steps + 2),
             "foreach": loop_with(ForeachPath, args.steps + 2)}
    times = {name: [] for name in loops}
    for _ in range(args.steps // args.chunk):
        for name, loop in loops.items():
            t0 = time.perf_counter()
            for _ in range(args.chunk):
                next(loop)
            times[name].append((time.perf_counter() - t0) / args.chunk)
    print(f"toy MLP (toy_config scoreaug, teaching size), {args.steps} steps per path in chunks of {args.chunk}, "
          f"{torch.get_num_threads()} thread(s)")
    median = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    for name, value in median.items():
        print(f"  {name:8s} median {value:.3f} ms/step")
    print(f"  public / foreach = {median['public'] / median['foreach']:.3f}   torch / public = "
          f"{median['torch'] / median['public']:.3f}")


if __name__ == "__main__":
    main()
