"""Command line: scoreaug-lab train | sample | evaluate | classifier | demo.

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
from .presets import PAPER_TRANSFORMS
from .transforms import parse_value

PROG = "scoreaug-lab"


class UsageError(Exception):
    """Raised instead of argparse's multi-line usage message."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def _option_value(text: str):
    """'256' -> 256, '0.1' -> 0.1, '1,2,2' -> (1, 2, 2), 'true'/'false' -> bool, else the text."""
    if "," in text:
        return tuple(_option_value(part.strip()) for part in text.split(",") if part.strip())
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return parse_value(text)


def _key_values(items) -> dict:
    """['width=256', 'channel_mult=1,2,2'] -> {'width': 256, 'channel_mult': (1, 2, 2)}."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--model-opt expects key=value, got {item!r}")
        out[key] = _option_value(value)
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
    sub = parser.add_subparsers(dest="command", metavar="{train,sample,evaluate,classifier,demo}", parser_class=Parser)

    t = sub.add_parser("train", help="train a denoiser into a run folder (resumes when it holds a checkpoint)",
                       description="Train a denoiser. Re-running with the same --out resumes exactly from "
                                   "its checkpoint; --steps is the total number of steps. Runs unchanged under "
                                   "torchrun (one process per GPU, DistributedDataParallel). Options given "
                                   "explicitly override the values of --preset.")
    _add_train_options(t)

    s = sub.add_parser("sample", help="draw samples from a trained run (omega = identity)")
    s.add_argument("--run", required=True, help="run folder written by `train`")
    s.add_argument("--seeds", default="0-999", help="one sample per seed: '0-999' or '1,5,7' (default 0-999)")
    s.add_argument("--out", required=True, help="output file: .pt, .npz or .png (a grid for images)")
    s.add_argument("--class-label", default=None, help="class-conditional runs: a class for every sample, or "
                   "'cycle' (seed mod number of classes); default unconditional")
    _add_sampler_options(s)

    e = sub.add_parser("evaluate", help="sample and print one JSON object of metrics")
    e.add_argument("--run", required=True, help="run folder written by `train`")
    e.add_argument("--n-samples", type=int, default=1000, help="samples to draw (default 1000)")
    e.add_argument("--seed", type=int, default=0, help="first sampling seed; also seeds the metrics (default 0)")
    e.add_argument("--n-per-band", type=int, default=512, help="probes per sigma band (default 512)")
    e.add_argument("--class-label", default=None, help="class-conditional runs: a class for every sample, or "
                   "'cycle' (seed mod number of classes: balanced, like the reference images; the default for "
                   "such runs), or 'none' (unconditional, for runs trained with label dropout)")
    _add_image_eval_options(e)
    _add_sampler_options(e)

    c = sub.add_parser("classifier", help="train the small CNN whose features give the offline proxy FID",
                       description="Train a small CIFAR-style CNN on an image data set and save it (atomically, "
                                   "with its held-out accuracy) for `evaluate --fid proxy`.")
    c.add_argument("--data", default="cifar10", help="cifar10 | cifar10:FILE.npz | digits[:SIZE] (default cifar10)")
    c.add_argument("--out", default=None, help="checkpoint path (default runs/classifier/<family>.pt)")
    c.add_argument("--n-train", type=int, default=None, help="training images (default: all of the training split)")
    c.add_argument("--epochs", type=int, default=15, help="epochs (default 15)")
    c.add_argument("--batch-size", type=int, default=128, help="batch size (default 128)")
    c.add_argument("--lr", type=float, default=3e-3, help="peak AdamW learning rate, one-cycle schedule (default 3e-3)")
    c.add_argument("--width", type=int, default=32, help="channels of the first stage (default 32)")
    c.add_argument("--feature-dim", type=int, default=128, help="width of the feature layer (default 128)")
    c.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    c.add_argument("--device", default="auto", help="auto (CUDA if present, else CPU), cpu or cuda[:i]")

    d = sub.add_parser("demo", help="no-aug vs ScoreAug on the 8-mode mixture, 3 seeds; table + figure")
    d.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    d.add_argument("--seeds", default="0,1,2", help="training seeds (default 0,1,2)")
    d.add_argument("--steps", type=int, default=None, help="training steps per run (default: the demo's)")
    d.add_argument("--n-samples", type=int, default=None, help="samples per run (default: the demo's)")
    return parser


def _add_train_options(t):
    """`train` options. Those a preset may set default to None: explicit > preset > TrainConfig default."""
    from .models import MODELS
    from .presets import PRESETS
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
                   help="noaug | clean | clean-omega | noisy | scoreaug (default noaug)")
    t.add_argument("--transforms", default=None, help="comma-separated transforms, options as name:key=value "
                   f"(default rot90,flip for points; {PAPER_TRANSFORMS} for images)")
    t.add_argument("--aug-prob", type=float, default=None,
                   help="probability that a sample is transformed (default 0.5)")
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

    from .presets import get_preset
    from .training import TrainConfig
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
    from .distributed import detect
    from .training import train
    config = train_config_from_args(args)
    state = train(config, resume=not args.fresh)
    if detect().rank != 0:
        return 0
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
    elif path.suffix == ".png" and samples.ndim == 4:
        from .plotting import save_image_grid
        save_image_grid(samples, path)
    elif path.suffix == ".png":
        from .plotting import save_sample_figure
        save_sample_figure(samples, path, train=train)
    else:
        raise ValueError(f"unknown sample file type {path.suffix!r}; use .pt, .npz or .png")


def _sample_labels(spec, seeds, model, device):
    """--class-label: None or 'none' (unconditional), an integer for every sample, or 'cycle' (seed mod classes)."""
    import torch
    if spec is None or spec == "none":
        return None
    classes = getattr(model, "label_dim", 0)
    if not classes:
        raise ValueError("--class-label needs a class-conditional run (trained with --class-cond)")
    if spec == "cycle":
        labels = [s % classes for s in seeds]
    else:
        try:
            labels = [int(spec)] * len(seeds)
        except ValueError:
            raise ValueError(f"--class-label must be an integer or 'cycle', got {spec!r}") from None
        if not 0 <= labels[0] < classes:
            raise ValueError(f"--class-label must lie in 0..{classes - 1}, got {spec}")
    return torch.tensor(labels, dtype=torch.long, device=device)


def cmd_sample(args) -> int:
    from .evaluation import draw_samples
    from .metrics import model_device
    from .runs import load_run
    from .sampling import parse_seeds
    suffix = Path(args.out).suffix
    if suffix not in (".pt", ".npz", ".png"):
        raise ValueError(f"unknown sample file type {suffix!r}; use .pt, .npz or .png")
    run = load_run(args.run, args.device)
    seeds = parse_seeds(args.seeds)
    labels = _sample_labels(args.class_label, seeds, run.model, model_device(run.model))
    extra = {} if labels is None else {"labels": labels}
    samples = draw_samples(run.model, run.setup.data.data_shape, seeds, **_sampler_kwargs(args), **extra)
    _save_samples(samples, Path(args.out), train=run.setup.data.train)
    print(f"wrote {samples.shape[0]} samples to {args.out}")
    return 0


def _add_image_eval_options(p):
    g = p.add_argument_group("image runs")
    g.add_argument("--fid", default="both", choices=["none", "inception", "proxy", "both"],
                   help="FID/KID feature space: Inception (torch-fidelity weights, when they can be had), the "
                        "proxy classifier, both, or none (default both)")
    g.add_argument("--classifier", default=None, help="proxy-FID classifier checkpoint "
                   "(default runs/classifier/<family>.pt, written by `scoreaug-lab classifier`)")
    g.add_argument("--inception-weights", default=None, help="a local copy of torch-fidelity's Inception weights")
    g.add_argument("--n-equivariance", type=int, default=128, help="probes per transform and sigma band (default 128)")
    g.add_argument("--equivariance-transforms", default=None,
                   help="transforms probed for equivariance (default: the run's --transforms)")


def _equivariance_sampler(run, spec):
    """The run's transform sampler (so that omega_for gives the codes it was trained with), or one
    built from `spec` / the run's transform list for runs that were not augmented."""
    from .transforms import build_sampler
    if spec is None:
        return run.setup.sampler or build_sampler(run.config.transforms, "images")
    sampler = build_sampler(spec, "images")
    if getattr(run.model, "omega_dim", 0) > 0 and (run.setup.sampler is None
                                                   or sampler.names != run.setup.sampler.names):
        raise ValueError("--equivariance-transforms must list the run's own transforms for a model "
                         f"conditioned on omega ({run.config.transforms})")
    return sampler


def cmd_evaluate(args) -> int:
    from .checkpoint import save_json
    from .evaluation import GRID_FILE, draw_samples, evaluate_images, evaluate_points
    from .metrics import model_device
    from .runs import load_run
    if args.n_samples < 2:
        raise ValueError(f"--n-samples must be >= 2, got {args.n_samples}")
    run = load_run(args.run, args.device)
    seeds = range(args.seed, args.seed + args.n_samples)
    label_spec = args.class_label
    if label_spec is None and getattr(run.model, "label_dim", 0):
        label_spec = "cycle"  # a class-conditional model samples every class in turn
    labels = _sample_labels(label_spec, seeds, run.model, model_device(run.model))
    samples = draw_samples(run.model, run.setup.data.data_shape, seeds, **_sampler_kwargs(args),
                           **({} if labels is None else {"labels": labels}))
    result = {"run": str(run.run_dir), "step": run.step, "variant": run.config.variant,
              "data": run.config.data, "n_train": run.config.n_train, "sampling_seeds": f"{seeds.start}-{seeds.stop - 1}",
              "sampling_labels": "none (unconditional)" if labels is None else label_spec}
    if run.setup.data.kind == "images":
        from .classifier import default_classifier_path
        if args.n_equivariance < 1:
            raise ValueError(f"--n-equivariance must be >= 1, got {args.n_equivariance}")
        result.update(model=run.config.model, transforms=run.config.transforms, **evaluate_images(
            run.model, run.setup.data, samples, _equivariance_sampler(run, args.equivariance_transforms),
            n_per_band=args.n_per_band, n_equivariance=args.n_equivariance, seed=args.seed, fid=args.fid,
            classifier_path=args.classifier, default_classifier=default_classifier_path(run.config.data),
            inception_weights=args.inception_weights, grid_path=run.run_dir / GRID_FILE))
    else:
        result.update(evaluate_points(run.model, run.setup.data, samples, n_per_band=args.n_per_band, seed=args.seed))
    save_json(result, run.run_dir / "eval.json")
    print(json.dumps(result))
    return 0


def cmd_classifier(args) -> int:
    from .checkpoint import save_json
    from .classifier import default_classifier_path, load_labelled_images, save_classifier, train_classifier
    from .training import resolve_device
    out = Path(args.out) if args.out else default_classifier_path(args.data)
    train_x, train_y, test_x, test_y = load_labelled_images(args.data, args.n_train, seed=args.seed)

    def progress(epoch, loss, acc):
        print(f"epoch {epoch}/{args.epochs}: loss {loss:.4f}, held-out accuracy {acc:.4f}", file=sys.stderr, flush=True)

    net, info = train_classifier(train_x, train_y, test_x, test_y, epochs=args.epochs, batch_size=args.batch_size,
                                 lr=args.lr, width=args.width, feature_dim=args.feature_dim, seed=args.seed,
                                 device=resolve_device(args.device), progress=progress)
    info["data"] = args.data
    save_classifier(net, info, out)
    save_json(info, out.with_suffix(".json"))
    print(json.dumps({"classifier": str(out), **info}))
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo
    from .sampling import parse_seeds
    kwargs = {k: v for k, v in (("steps", args.steps), ("n_samples", args.n_samples)) if v is not None}
    run_demo(args.out, seeds=parse_seeds(args.seeds), **kwargs)
    return 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "evaluate": cmd_evaluate, "classifier": cmd_classifier,
            "demo": cmd_demo}


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
