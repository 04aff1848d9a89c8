"""Training throughput in images per second: no augmentation vs ScoreAug, side by side in one run.

    python benchmarks/train_throughput.py                      # tiny U-Net on the CPU
    python benchmarks/train_throughput.py --model unet-ddpmpp --amp --channels-last --device cuda \\
        --batch-size 512 --data random                         # EDM's 56 M U-Net in bf16 on a GPU

The two training loops (`train_iter`, the real loop: data, transforms, loss, backward, AdamW, EMA)
advance in alternating chunks of steps, so that both see the same machine load; the first steps of
each are a warm-up and not timed. Printed: the median images/second of each (with the 10th-90th
percentile over chunks) and the overhead of ScoreAug, median time per step ScoreAug / no-aug - 1
(target <= 3 %). Every ScoreAug sample is transformed (--aug-prob 1: the worst case) unless told.

Data: --data auto uses the local CIFAR-10 subset ($SCOREAUG_CIFAR_NPZ or ../shared/data/cifar10_subset.npz)
when present, else random images in the CIFAR-10 .npz format (throughput does not depend on the
pixels); any --data spec of the toolkit works too.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from scoreaug_lab.data.images import local_cifar_npz
from scoreaug_lab.presets import PAPER_TRANSFORMS
from scoreaug_lab.train.loop import TrainConfig, train_iter


def random_cifar_npz(folder: Path, n_train: int = 10_000, n_test: int = 100) -> Path:
    """A CIFAR-10-format .npz of random pixels (uint8 HWC, balanced labels)."""
    rng = np.random.default_rng(0)
    path = folder / "random_cifar10.npz"
    np.savez(path, x_train=rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
             y_train=np.arange(n_train) % 10, x_test=rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
             y_test=np.arange(n_test) % 10)
    return path


def resolve_data(spec: str, folder: Path) -> tuple[str, str]:
    """(data spec, description) for --data."""
    if spec == "auto":
        local = local_cifar_npz()
        if local is not None:
            return f"cifar10:{local}", f"CIFAR-10 subset {local}"
        spec = "random"
    if spec == "random":
        return f"cifar10:{random_cifar_npz(folder)}", "random 3x32x32 images (CIFAR-10 .npz format)"
    return spec, spec


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="unet-tiny", help="denoiser (default unet-tiny)")
    parser.add_argument("--data", default="auto", help="auto | random | any --data spec (default auto)")
    parser.add_argument("--n-train", type=int, default=2000, help="training images (default 2000)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--chunk", type=int, default=4, help="steps per timed chunk (default 4)")
    parser.add_argument("--chunks", type=int, default=8, help="timed chunks per variant (default 8)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per variant first (default 3)")
    parser.add_argument("--transforms", default=PAPER_TRANSFORMS,
                        help="ScoreAug transforms (default: the paper's four)")
    parser.add_argument("--aug-prob", type=float, default=1.0, help="augmentation probability (default 1)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA)")
    parser.add_argument("--channels-last", action="store_true", help="channels_last memory format")
    parser.add_argument("--compile", action="store_true", help="torch.compile the training forward")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        data, data_text = resolve_data(args.data, Path(tmp))
        steps = args.warmup + args.chunk * args.chunks
        common = dict(data=data, n_train=args.n_train, n_heldout=10, model=args.model, transforms=args.transforms,
                      aug_prob=args.aug_prob, steps=steps, batch_size=args.batch_size, log_every=10**9,
                      device=args.device, amp=args.amp, channels_last=args.channels_last, compile=args.compile,
                      progress=False)
        loops = {v: train_iter(TrainConfig(**common, variant=v)) for v in ("noaug", "scoreaug")}
        first = {}
        for variant, loop in loops.items():
            for _ in range(args.warmup):
                first[variant] = next(loop)
        device = first["noaug"].setup.device
        times = {v: [] for v in loops}
        for _ in range(args.chunks):
            for variant, loop in loops.items():
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                for _ in range(args.chunk):
                    next(loop)  # each step ends with .item(): the GPU work is done when it returns
                times[variant].append((time.perf_counter() - t0) / args.chunk)
        for loop in loops.values():
            loop.close()

    card = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
    n_params = first["noaug"].model.n_params
    print(f"{args.model} ({n_params / 1e6:.2f} M parameters) on {card}; data: {data_text}")
    print(f"batch {args.batch_size}, amp={args.amp and device.type == 'cuda'}, channels_last={args.channels_last}, "
          f"compile={args.compile}; {args.chunks} chunks of {args.chunk} steps per variant, interleaved, after "
          f"{args.warmup} warm-up steps; ScoreAug transforms {args.transforms}, probability {args.aug_prob}")
    med = {}
    for variant, t in times.items():
        rate = [args.batch_size / x for x in t]
        med[variant] = statistics.median(t)
        q = statistics.quantiles(rate, n=10) if len(rate) > 1 else [rate[0], rate[0]]
        print(f"  {variant:<9} {args.batch_size / med[variant]:9.1f} images/s  (10th-90th percentile over chunks "
              f"{q[0]:.1f}-{q[-1]:.1f}; {med[variant] * 1e3:.1f} ms/step)")
    overhead = med["scoreaug"] / med["noaug"] - 1
    print(f"ScoreAug overhead: {100 * overhead:+.1f} % time per step (target <= 3 %)")
    aug = augmentation_cost(first["scoreaug"], args.batch_size, device)
    print(f"  isolated check: drawing, applying (to input and target) and encoding the transforms takes "
          f"{aug * 1e3:.2f} ms per batch = {100 * aug / med['noaug']:.1f} % of a no-aug step")


def augmentation_cost(state, batch: int, device, repeats: int = 20) -> float:
    """Median seconds for the ScoreAug-only work of one batch, as the training step does it: draw, apply to
    target and noisy input in one pass (apply_pair), encode.
    Less sensitive to a busy machine than the difference of two step times."""
    sampler, data = state.setup.sampler, state.setup.data
    x = data.train[:batch].to(device)
    generator = torch.Generator(device=device).manual_seed(0)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        draw = sampler.draw(batch, generator=generator, device=device)
        sampler.apply_pair(x, x, draw), sampler.encode(draw)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


if __name__ == "__main__":
    main()
