"""Training-step time of ScoreAug vs no augmentation: same model, same batch, interleaved in one run.

    python benchmarks/overhead.py [--steps 2000] [--chunk 50] [--transforms rot90,flip] [--threads 1]

Two training loops advance in alternating chunks of steps (so that both see the same machine load);
the script prints the median time per step of each and their ratio (target <= 1.05 on the toy MLP).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from scoreaug_lab.train.loop import TrainConfig, train_iter


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps per variant (default 2000)")
    parser.add_argument("--chunk", type=int, default=50, help="steps per timed chunk (default 50)")
    parser.add_argument("--transforms", default="rot90,flip", help="ScoreAug transforms (default rot90,flip)")
    parser.add_argument("--batch-size", type=int, default=256, help="batch size (default 256)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    common = dict(data="toy:gmm8", n_train=64, transforms=args.transforms, aug_prob=1.0, steps=args.steps + 1,
                  batch_size=args.batch_size, progress=False)
    loops = {v: train_iter(TrainConfig(**common, variant=v)) for v in ("noaug", "scoreaug")}
    for loop in loops.values():  # warm-up step (allocations, first-call overheads)
        next(loop)
    times = {v: [] for v in loops}
    for _ in range(args.steps // args.chunk):
        for variant, loop in loops.items():
            t0 = time.perf_counter()
            for _ in range(args.chunk):
                next(loop)
            times[variant].append((time.perf_counter() - t0) / args.chunk)
    med = {v: statistics.median(t) * 1e3 for v, t in times.items()}
    print(f"toy MLP, batch {args.batch_size}, {args.steps} steps per variant in chunks of {args.chunk}, "
          f"{args.threads} thread(s); transforms {args.transforms}, augmentation probability 1")
    for v, t in times.items():
        q = statistics.quantiles([x * 1e3 for x in t], n=10)
        print(f"  {v:<9} median {med[v]:.3f} ms/step  (10th-90th percentile {q[0]:.3f}-{q[-1]:.3f})")
    print(f"ratio scoreaug / noaug = {med['scoreaug'] / med['noaug']:.3f}  (target <= 1.05)")
    print(f"  of which the transforms alone (draw, apply to target and noisy input, encode omega): "
          f"{_transform_cost(args) * 1e3:.3f} ms/step in isolation; the rest is spent around them in the step (the network's omega input among it)")


def _transform_cost(args, repeats: int = 2000) -> float:
    """Seconds per step spent in the transform sampler alone, timed in isolation."""
    from scoreaug_lab.transforms import build_sampler

    sampler = build_sampler(args.transforms, "points", 1.0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch_size, 2, generator=g)
    for _ in range(100):
        sampler.encode(sampler.draw(args.batch_size, g))
    t0 = time.perf_counter()
    for _ in range(repeats):
        draw = sampler.draw(args.batch_size, g)
        sampler.apply_pair(x, x, draw)
        sampler.encode(draw)
    return (time.perf_counter() - t0) / repeats


if __name__ == "__main__":
    main()
