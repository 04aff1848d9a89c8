"""`scoreaug-lab train`: its options (explicit > preset > TrainConfig default) and the command."""
from __future__ import annotations

import argparse

from ..diffusion import VARIANTS
from ..transforms import PAPER_TRANSFORMS
from .common import _key_values


def add_train_parser(sub) -> None:
    t = sub.add_parser("train", help="train a denoiser into a run folder (resumes when it holds a checkpoint)",
                       description="Train a denoiser. Re-running with the same --out resumes exactly from "
                                   "its checkpoint; --steps is the total number of steps. Runs unchanged under "
                                   "torchrun (one process per GPU, DistributedDataParallel). Options given "
                                   "explicitly override the values of --preset.")
    _add_train_options(t)


def _add_train_options(t):
    """`train` options. Those a preset may set default to None: explicit > preset > TrainConfig default."""
    from ..models import MODELS
    from ..presets import PRESETS
    t.add_argument("--preset", default=None, choices=list(PRESETS),
                   help="named configuration: " + ", ".join(PRESETS) + " (explicit options override it)")
    t.add_argument("--data", default=None, help="data set: toy:gmm8 | toy:moons | toy:swissroll | toy:checkerboard | "
                   "cifar10 (torchvision download) | cifar10:FILE.npz | digits[:SIZE] (default toy:gmm8)")
    t.add_argument("--n-train", type=int, default=None, help="training-set size (nested, class-balanced subsets; "
                   "default 64)")
    t.add_argument("--n-heldout", type=int, default=None,
                   help="held-out set size (default 2000, at most the held-out split)")
    t.add_argument("--data-seed", type=int, default=None, help="seed of the data draw (default 0)")
    t.add_argument("--variant", default=None, choices=list(VARIANTS),
                   help="noaug | clean | clean-omega | noisy | scoreaug | combined (clean-omega's clean-space stage and "
                        "scoreaug's noisy-space stage together) (default noaug)")
    t.add_argument("--transforms", default=None, help="comma-separated transforms, options as name:key=value "
                   f"(default rot90,flip for points; {PAPER_TRANSFORMS} for images)")
    t.add_argument("--aug-prob", type=float, default=None,
                   help="probability that a sample is transformed (default 0.5)")
    t.add_argument("--clean-transforms", default=None,
                   help="the combined variant's clean-space (EDM-style) stage, told through its own omega "
                        "(default geometric for images, rotate,scale for points)")
    t.add_argument("--clean-aug-prob", type=float, default=None,
                   help="probability of a clean-space transform in the combined variant (default 0.5)")
    t.add_argument("--model", default=None, help=f"denoiser: {' | '.join(sorted(MODELS))} "
                   "(default mlp for points, unet-tiny for images)")
    t.add_argument("--model-opt", action="append", metavar="KEY=VALUE",
                   help="model option, repeatable (e.g. width=256, model_channels=64, dropout=0.1)")
    t.add_argument("--sigma-data", type=float, default=None, help="EDM sigma_data (default 0.5)")
    t.add_argument("--steps", type=int, default=None, help="total optimiser steps (default 3000)")
    t.add_argument("--batch-size", type=int, default=None, help="global batch size, over all processes (default 256)")
    t.add_argument("--lr", type=float, default=None, help="AdamW learning rate (default 2e-3)")
    t.add_argument("--weight-decay", type=float, default=None, help="AdamW weight decay (default 0)")
    t.add_argument("--warmup-steps", type=int, default=None, help="linear learning-rate warm-up (default 0)")
    t.add_argument("--grad-clip", type=float, default=None, help="gradient-norm clip, 0 for none (default 1)")
    t.add_argument("--grad-accum", type=int, default=None, help="gradient-accumulation micro-batches per process "
                   "(default 1)")
    t.add_argument("--ema-decay", type=float, default=None, help="EMA decay per step, ramped up as min(decay, (1 + n) / (10 + n)) over the first updates "
                   "(default 0.999)")
    t.add_argument("--xflip", action=argparse.BooleanOptionalAction, default=None,
                   help="clean x-flips of training images with probability 1/2 (default off)")
    t.add_argument("--class-cond", action=argparse.BooleanOptionalAction, default=None,
                   help="condition the denoiser on class labels (default off)")
    t.add_argument("--label-dropout", type=float, default=None,
                   help="probability of dropping a label, for classifier-free guidance (default 0)")
    t.add_argument("--seed", type=int, default=None, help="training seed: initialisation and noise (default 0)")
    t.add_argument("--out", required=True, help="run folder (config.json, metrics.jsonl, checkpoint.pt)")
    t.add_argument("--ckpt-every", type=int, default=None, help="checkpoint interval in steps (default 1000)")
    t.add_argument("--log-every", type=int, default=None, help="metrics interval in steps (default 50)")
    t.add_argument("--eval-every", type=int, default=None, help="train/held-out loss interval (default 0: never)")
    t.add_argument("--keep-best", action=argparse.BooleanOptionalAction, default=None,
                   help="also keep the EMA weights of the lowest held-out loss, best_ema.pt (needs --eval-every)")
    t.add_argument("--device", default=None, help="auto (CUDA if present, else CPU), cpu or cuda[:i] "
                   "(under torchrun: cuda:LOCAL_RANK)")
    t.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="bf16 autocast on CUDA (default off)")
    t.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels_last memory format for image models (default off)")
    t.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the training forward (default off)")
    t.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def train_config_from_args(args):
    """TrainConfig from parsed `train` options: TrainConfig defaults, then the preset, then explicit options."""
    from dataclasses import fields

    from ..train.config import TrainConfig
    from ..presets import get_preset
    # every `train` option whose argparse dest is a TrainConfig field (set below: out, progress, model_kwargs)
    settable = {f.name for f in fields(TrainConfig)} - {"out", "progress", "model_kwargs", "preset"}
    values = {}
    if args.preset:
        values = get_preset(args.preset)
        values["preset"] = args.preset
        if args.model is not None and args.model != values.get("model"):
            values.pop("model_kwargs", None)  # the preset's model options belong to the preset's model
    values.update({name: value for name, value in vars(args).items() if name in settable and value is not None})
    if args.model_opt:
        values["model_kwargs"] = {**values.get("model_kwargs", {}), **_key_values(args.model_opt)}
    values.update(out=args.out, progress=not args.no_progress)
    return TrainConfig(**values).validate()


def cmd_train(args) -> int:
    from ..train.distributed import detect
    from ..train.loop import train
    config = train_config_from_args(args)
    state = train(config, resume=not args.fresh)
    if detect().rank != 0:
        return 0
    if state is None:
        print(f"{args.out}: already trained to step {config.steps}; nothing to do")
    else:
        print(f"{args.out}: trained to step {state.step}, last loss {state.loss:.4f}")
    return 0
