"""Overfitting on CIFAR-10 subsets: no augmentation vs clean-space augmentation (clean-omega, EDM's
non-leaking scheme) vs ScoreAug, several training-set sizes and seeds, at a CPU-sized budget.

    python benchmarks/overfitting_cifar.py --sizes 64,500,2000 --steps 600   # README's table (17 min, 2 cores)
    python benchmarks/overfitting_cifar.py --smoke               # a check that everything runs (6 tiny runs)
    python benchmarks/overfitting_cifar.py --sizes 500,2000 --seeds 0,1,2 --steps 400 --npz PATH

Every run trains a small U-Net with `scoreaug_lab.train.loop` into --out/<size>-<variant>-s<seed> (a run
that is already there is resumed, or reused when finished), then measures with the EMA weights:
  - the denoising loss per sigma band on the training and the held-out images and their gap
    (held-out - training; the same probes, noises and evaluation seed for every run);
  - memorisation of samples (omega = 0, Heun) against the training images: the fraction whose nearest
    training image is closer than 1/3 of the second nearest, and the mean nearest-neighbour distance
    divided by that of real held-out images (1 = as far from the training set as unseen real images;
    below 1 = samples sit closer to training images than fresh data does).
It prints a table of mean +- std over seeds (sample std, n - 1) and writes it, with the command, to
--out/table.md and all numbers to --out/results.json.
"""
from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

from scoreaug_lab.data.images import SHARED_CIFAR_NPZ, local_cifar_npz
from scoreaug_lab.evaluate.metrics import memorisation, overfitting_gap
from scoreaug_lab.presets import PAPER_TRANSFORMS
from scoreaug_lab.runs.checkpoint import atomic_write_text, save_json
from scoreaug_lab.runs.folder import load_run
from scoreaug_lab.sampling import sample
from scoreaug_lab.train.loop import TrainConfig, train

LABELS = {"noaug": "no aug", "clean-omega": "clean-space (omega)", "scoreaug": "ScoreAug"}
SUMMARY_BANDS = ((0.05, 0.2), (0.2, 1.0), (1.0, 5.0))


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--npz", default=str(local_cifar_npz() or SHARED_CIFAR_NPZ),
                   help="local CIFAR-10 .npz (default ../shared/data/cifar10_subset.npz or $SCOREAUG_CIFAR_NPZ)")
    p.add_argument("--sizes", default="500,2000", help="training-set sizes (default 500,2000)")
    p.add_argument("--seeds", default="0,1,2", help="training seeds (default 0,1,2)")
    p.add_argument("--variants", default="noaug,clean-omega,scoreaug",
                   help="variants (default noaug,clean-omega,scoreaug)")
    p.add_argument("--transforms", default=PAPER_TRANSFORMS,
                   help=f"augmentations (default: the paper's four, {PAPER_TRANSFORMS})")
    p.add_argument("--aug-prob", type=float, default=0.5, help="probability of transforming a sample (default 0.5)")
    p.add_argument("--model", default="unet-tiny", help="denoiser (default unet-tiny)")
    p.add_argument("--model-channels", type=int, default=16, help="U-Net base channels (default 16)")
    p.add_argument("--steps", type=int, default=300, help="optimiser steps per run (default 300)")
    p.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--lr", type=float, default=2e-3, help="learning rate (default 2e-3)")
    p.add_argument("--ema-decay", type=float, default=0.99, help="EMA decay per step (default 0.99)")
    p.add_argument("--n-heldout", type=int, default=1000, help="held-out images (default 1000)")
    p.add_argument("--n-per-band", type=int, default=256, help="loss probes per sigma band and split (default 256)")
    p.add_argument("--n-samples", type=int, default=64, help="samples per run for memorisation (default 64)")
    p.add_argument("--num-steps", type=int, default=18, help="Heun steps when sampling (default 18)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--out", default="runs/overfitting_cifar", help="output folder (default runs/overfitting_cifar)")
    p.add_argument("--smoke", action="store_true", help="a tiny configuration that only checks the pipeline")
    args = p.parse_args(argv)
    if args.smoke:
        args.sizes, args.seeds, args.steps, args.n_per_band, args.n_samples, args.num_steps = "100", "0,1", 4, 16, 8, 3
        args.n_heldout, args.out = 100, args.out.rstrip("/") + "_smoke"
    return args


def run_one(args, size: int, variant: str, seed: int) -> dict:
    out = Path(args.out) / f"n{size}-{variant}-s{seed}"
    config = TrainConfig(data=f"cifar10:{args.npz}", n_train=size, n_heldout=args.n_heldout, variant=variant,
                         transforms=args.transforms, aug_prob=args.aug_prob, model=args.model,
                         model_kwargs={"model_channels": args.model_channels} if args.model.startswith("unet") else {},
                         steps=args.steps,
                         batch_size=args.batch_size, lr=args.lr, ema_decay=args.ema_decay, seed=seed, out=str(out),
                         ckpt_every=args.steps, log_every=max(1, args.steps // 10), device="cpu", progress=False)
    t0 = time.perf_counter()
    train(config.validate())
    t_train = time.perf_counter() - t0
    run = load_run(out, "cpu")
    data = run.setup.data
    t0 = time.perf_counter()
    # one evaluation seed for every run: identical probes and noises across variants and seeds
    gap = overfitting_gap(run.model, data.train, data.heldout, n_per_band=args.n_per_band, seed=0, batch_size=128)
    samples = sample(run.model, data.data_shape, range(args.n_samples), num_steps=args.num_steps,
                     device=run.model.device).float().cpu()
    mem = memorisation(samples, data.train)
    ref = memorisation(data.heldout[: args.n_samples], data.train)
    row = {"size": size, "variant": variant, "seed": seed, "run": str(out), "loss_by_band": gap,
           "memorised_fraction": mem["memorised_fraction"], "mean_nn_distance": mem["mean_nn_distance"],
           "heldout_mean_nn_distance": ref["mean_nn_distance"],
           "nn_distance_ratio": mem["mean_nn_distance"] / ref["mean_nn_distance"],
           "seconds_train": t_train, "seconds_eval": time.perf_counter() - t0}
    save_json(row, out / "overfitting.json")
    return row


def _band_gap(row: dict, band) -> float:
    return next(r["gap"] for r in row["loss_by_band"] if (r["sigma_low"], r["sigma_high"]) == band)


def _mean_std(values) -> str:
    values = list(values)
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{mean:.4f} +- {std:.4f}"


def _groups(rows: list[dict], args):
    """(size, variant, the rows of its seeds) in the order of the command line, skipping empty groups."""
    for size in _ints(args.sizes):
        for variant in args.variants.split(","):
            group = [r for r in rows if r["size"] == size and r["variant"] == variant]
            if group:
                yield size, variant, group


def summarise(rows: list[dict], args) -> str:
    head = (["n_train", "variant"] + [f"gap s in [{lo:g},{hi:g})" for lo, hi in SUMMARY_BANDS]
            + ["memorised fraction", "NN dist / held-out NN dist"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size, variant, group in _groups(rows, args):
        cells = [str(size), LABELS.get(variant, variant)]
        cells += [_mean_std(_band_gap(r, band) for r in group) for band in SUMMARY_BANDS]
        cells += [_mean_std(r["memorised_fraction"] for r in group),
                  _mean_std(r["nn_distance_ratio"] for r in group)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_band_table(rows: list[dict], args) -> str:
    bands = [(r["sigma_low"], r["sigma_high"]) for r in rows[0]["loss_by_band"]]
    head = ["n_train", "variant"] + [f"[{lo:g},{hi:g}) train / held-out" for lo, hi in bands]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size, variant, group in _groups(rows, args):
        cells = [str(size), LABELS.get(variant, variant)]
        for i in range(len(bands)):
            tr = statistics.fmean(r["loss_by_band"][i]["train"] for r in group)
            ho = statistics.fmean(r["loss_by_band"][i]["heldout"] for r in group)
            cells.append(f"{tr:.4f} / {ho:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if not Path(args.npz).is_file():
        print(f"overfitting_cifar: no CIFAR-10 file at {args.npz} (use --npz or $SCOREAUG_CIFAR_NPZ)", file=sys.stderr)
        return 2
    command = "python benchmarks/overfitting_cifar.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    start = time.perf_counter()
    rows = []
    n_runs = len(_ints(args.sizes)) * len(args.variants.split(",")) * len(_ints(args.seeds))
    for size in _ints(args.sizes):
        for variant in args.variants.split(","):
            for seed in _ints(args.seeds):
                row = run_one(args, size, variant, seed)
                rows.append(row)
                elapsed = time.perf_counter() - start
                # pace of a run that had to train (reused runs only cost their evaluation)
                pace = max(r["seconds_train"] + r["seconds_eval"] for r in rows)
                print(f"[{len(rows)}/{n_runs}] {elapsed / 60:.1f} min so far, at most about "
                      f"{pace * (n_runs - len(rows)) / 60:.1f} min to go", file=sys.stderr)
                print(f"n={size} {variant:12s} seed={seed}: gap[0.2,1) {_band_gap(row, (0.2, 1.0)):+.4f}, "
                      f"memorised {row['memorised_fraction']:.3f}, NN ratio {row['nn_distance_ratio']:.3f} "
                      f"(train {row['seconds_train']:.0f} s, eval {row['seconds_eval']:.0f} s)",
                      file=sys.stderr, flush=True)
    minutes = (time.perf_counter() - start) / 60
    setup = (f"CIFAR-10 subset {args.npz}; model {args.model} (model_channels={args.model_channels}); "
             f"{args.steps} steps of batch {args.batch_size}, lr {args.lr}, EMA {args.ema_decay}; transforms "
             f"{args.transforms} with p = {args.aug_prob}; seeds {args.seeds}; {args.n_per_band} probes per band "
             f"(evaluation seed 0); {args.n_samples} samples per run ({args.num_steps} Heun steps); "
             f"{torch.get_num_threads()} CPU threads; {minutes:.1f} min in all")
    table = summarise(rows, args)
    text = (f"# Overfitting on CIFAR-10 subsets (mean +- std over seeds)\n\nCommand: `{command.strip()}`\n\n{setup}\n\n"
            f"Gap = EDM-weighted denoising loss on held-out images - on training images, per sigma band.\n\n"
            f"{table}\n\n## Loss per band (mean over seeds)\n\n{per_band_table(rows, args)}\n")
    out = Path(args.out)
    atomic_write_text(text, out / "table.md")
    save_json({"command": command.strip(), "setup": setup, "rows": rows}, out / "results.json")
    print(table)
    print(f"\n{setup}\nwritten: {out / 'table.md'}, {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
