"""Command line: scoreaug-lab train | sample | evaluate | demo.

Bad options or a missing run print one line `scoreaug-lab: error: ...` and exit with code 2
(set SCOREAUG_DEBUG=1 to see the traceback instead).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .diffusion import VARIANTS

PROG = "scoreaug-lab"


class UsageError(Exception):
    """Raised instead of argparse's multi-line usage message."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def _key_values(items) -> dict:
    """['width=256', 'depth=4'] -> {'width': 256, 'depth': 4} (numbers parsed, else strings)."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--model-opt expects key=value, got {item!r}")
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        out[key] = value
    return out


def _add_sampler_options(p):
    g = p.add_argument_group("sampler")
    g.add_argument("--sampler", default="heun", choices=["heun", "euler"], help="ODE solver (default: heun)")
    g.add_argument("--num-steps", type=int, default=18, help="sampling steps (default 18: 35 evaluations with heun)")
    g.add_argument("--sigma-min", type=float, default=0.002, help="smallest noise level (default 0.002)")
    g.add_argument("--sigma-max", type=float, default=80.0, help="largest noise level (default 80)")
    g.add_argument("--rho", type=float, default=7.0, help="time-step exponent (default 7)")
    g.add_argument("--churn", type=float, default=0.0, help="stochasticity S_churn (default 0: deterministic)")
    g.add_argument("--device", default="auto", help="auto (CUDA if present, else CPU), cpu or cuda[:i]")


def _sampler_kwargs(args) -> dict:
    return dict(num_steps=args.num_steps, sigma_min=args.sigma_min, sigma_max=args.sigma_max, rho=args.rho,
                method=args.sampler, churn=args.churn)


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="ScoreAug teaching toolkit: train, sample and evaluate diffusion "
                    "denoisers with augmentation in clean or noisy space.")
    sub = parser.add_subparsers(dest="command", metavar="{train,sample,evaluate,demo}", parser_class=Parser)

    t = sub.add_parser("train", help="train a denoiser into a run folder (resumes when it holds a checkpoint)",
                       description="Train a denoiser. Re-running with the same --out resumes exactly from "
                                   "its checkpoint; --steps is the total number of steps.")
    t.add_argument("--data", default="toy:gmm8", help="data set: toy:gmm8 | toy:moons | toy:swissroll | "
                   "toy:checkerboard (default toy:gmm8)")
    t.add_argument("--n-train", type=int, default=64, help="training-set size (nested subsets; default 64)")
    t.add_argument("--n-heldout", type=int, default=2000, help="held-out set size (default 2000)")
    t.add_argument("--data-seed", type=int, default=0, help="seed of the data draw (default 0)")
    t.add_argument("--variant", default="noaug", choices=list(VARIANTS),
                   help="noaug | clean | clean-omega | noisy | scoreaug (default noaug)")
    t.add_argument("--transforms", default="rot90,flip",
                   help="comma-separated transforms, options as name:key=value (default rot90,flip)")
    t.add_argument("--aug-prob", type=float, default=0.5, help="probability that a sample is transformed (default 0.5)")
    t.add_argument("--model", default="mlp", help="denoiser architecture (default mlp)")
    t.add_argument("--model-opt", action="append", metavar="KEY=VALUE", help="model option, repeatable (e.g. width=256)")
    t.add_argument("--sigma-data", type=float, default=0.5, help="EDM sigma_data (default 0.5)")
    t.add_argument("--steps", type=int, default=3000, help="total optimiser steps (default 3000)")
    t.add_argument("--batch-size", type=int, default=256, help="batch size (default 256)")
    t.add_argument("--lr", type=float, default=2e-3, help="AdamW learning rate (default 2e-3)")
    t.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay (default 0)")
    t.add_argument("--warmup-steps", type=int, default=0, help="linear learning-rate warm-up (default 0)")
    t.add_argument("--grad-clip", type=float, default=1.0, help="gradient-norm clip (default 1)")
    t.add_argument("--grad-accum", type=int, default=1, help="gradient-accumulation micro-batches (default 1)")
    t.add_argument("--ema-decay", type=float, default=0.999, help="EMA decay per step (default 0.999)")
    t.add_argument("--seed", type=int, default=0, help="training seed: initialisation and noise (default 0)")
    t.add_argument("--out", required=True, help="run folder (config.json, metrics.jsonl, checkpoint.pt)")
    t.add_argument("--ckpt-every", type=int, default=1000, help="checkpoint interval in steps (default 1000)")
    t.add_argument("--log-every", type=int, default=50, help="metrics interval in steps (default 50)")
    t.add_argument("--eval-every", type=int, default=0, help="train/held-out loss interval (default 0: never)")
    t.add_argument("--device", default="auto", help="auto (CUDA if present, else CPU), cpu or cuda[:i]")
    t.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA")
    t.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    s = sub.add_parser("sample", help="draw samples from a trained run (omega = identity)")
    s.add_argument("--run", required=True, help="run folder written by `train`")
    s.add_argument("--seeds", default="0-999", help="one sample per seed: '0-999' or '1,5,7' (default 0-999)")
    s.add_argument("--out", required=True, help="output file: .pt, .npz or .png")
    _add_sampler_options(s)

    e = sub.add_parser("evaluate", help="sample and print one JSON object of metrics")
    e.add_argument("--run", required=True, help="run folder written by `train`")
    e.add_argument("--n-samples", type=int, default=1000, help="samples to draw (default 1000)")
    e.add_argument("--seed", type=int, default=0, help="first sampling seed; also seeds the metrics (default 0)")
    e.add_argument("--n-per-band", type=int, default=512, help="probes per sigma band (default 512)")
    _add_sampler_options(e)

    d = sub.add_parser("demo", help="no-aug vs ScoreAug on the 8-mode mixture, 3 seeds; table + figure")
    d.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    d.add_argument("--seeds", default="0,1,2", help="training seeds (default 0,1,2)")
    d.add_argument("--steps", type=int, default=None, help="training steps per run (default: the demo's)")
    d.add_argument("--n-samples", type=int, default=None, help="samples per run (default: the demo's)")
    return parser


def cmd_train(args) -> int:
    from .training import TrainConfig, train
    config = TrainConfig(
        data=args.data, n_train=args.n_train, n_heldout=args.n_heldout, data_seed=args.data_seed,
        variant=args.variant, transforms=args.transforms, aug_prob=args.aug_prob, model=args.model,
        model_kwargs=_key_values(args.model_opt), sigma_data=args.sigma_data, steps=args.steps,
        batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, warmup_steps=args.warmup_steps,
        grad_clip=args.grad_clip, grad_accum=args.grad_accum, ema_decay=args.ema_decay, seed=args.seed,
        out=args.out, ckpt_every=args.ckpt_every, log_every=args.log_every, eval_every=args.eval_every,
        device=args.device, amp=args.amp, progress=not args.no_progress).validate()
    state = train(config, resume=not args.fresh)
    if state is None:
        print(f"{args.out}: already trained to step {config.steps}; nothing to do")
    else:
        print(f"{args.out}: trained to step {state.step}, last loss {state.loss:.4f}")
    return 0


def _save_samples(samples, path: Path, train=None) -> None:
    import numpy as np
    import torch
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".pt":
        torch.save(samples, path)
    elif path.suffix == ".npz":
        np.savez(path, samples=samples.numpy())
    elif path.suffix == ".png":
        from .plotting import save_sample_figure
        save_sample_figure(samples, path, train=train)
    else:
        raise ValueError(f"unknown sample file type {path.suffix!r}; use .pt, .npz or .png")


def cmd_sample(args) -> int:
    from .evaluation import draw_samples
    from .runs import load_run
    from .sampling import parse_seeds
    suffix = Path(args.out).suffix
    if suffix not in (".pt", ".npz", ".png"):
        raise ValueError(f"unknown sample file type {suffix!r}; use .pt, .npz or .png")
    run = load_run(args.run, args.device)
    samples = draw_samples(run.model, run.setup.data.data_shape, parse_seeds(args.seeds), **_sampler_kwargs(args))
    _save_samples(samples, Path(args.out), train=run.setup.data.train)
    print(f"wrote {samples.shape[0]} samples to {args.out}")
    return 0


def cmd_evaluate(args) -> int:
    from .checkpoint import save_json
    from .evaluation import draw_samples, evaluate_points
    from .runs import load_run
    if args.n_samples < 2:
        raise ValueError(f"--n-samples must be >= 2, got {args.n_samples}")
    run = load_run(args.run, args.device)
    seeds = range(args.seed, args.seed + args.n_samples)
    samples = draw_samples(run.model, run.setup.data.data_shape, seeds, **_sampler_kwargs(args))
    result = {"run": str(run.run_dir), "step": run.step, "variant": run.config.variant,
              "data": run.config.data, "n_train": run.config.n_train, "sampling_seeds": f"{seeds.start}-{seeds.stop - 1}",
              **evaluate_points(run.model, run.setup.data, samples, n_per_band=args.n_per_band, seed=args.seed)}
    save_json(result, run.run_dir / "eval.json")
    print(json.dumps(result))
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo
    from .sampling import parse_seeds
    kwargs = {k: v for k, v in (("steps", args.steps), ("n_samples", args.n_samples)) if v is not None}
    run_demo(args.out, seeds=parse_seeds(args.seeds), **kwargs)
    return 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "evaluate": cmd_evaluate, "demo": cmd_demo}


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command](args)
    except (UsageError, ValueError, FileNotFoundError) as err:
        if os.environ.get("SCOREAUG_DEBUG"):
            raise
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (the last completed step is checkpointed)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
