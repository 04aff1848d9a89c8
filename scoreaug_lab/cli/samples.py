"""`scoreaug-lab sample` and `scoreaug-lab evaluate`: draw samples of a run (omega = identity) and measure it."""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..train.resources import check_fits


def add_sample_parser(sub) -> None:
    s = sub.add_parser("sample", help="draw samples from a trained run (omega = identity)")
    s.add_argument("--run", required=True, help="run folder written by `train`")
    s.add_argument("--seeds", default="0-999", help="one sample per seed: '0-999' or '1,5,7' (default 0-999)")
    s.add_argument("--out", required=True, help="output file: .pt, .npz or .png (a grid for images)")
    s.add_argument("--class-label", default=None, help="class-conditional runs: a class for every sample, or "
                   "'cycle' (seed mod number of classes); default unconditional")
    _add_sampler_options(s)


def add_evaluate_parser(sub) -> None:
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


def _sample_labels(spec, seeds, model, device):
    """--class-label: None or 'none' (unconditional), an integer for every sample, or 'cycle' (seed mod classes)."""
    import torch
    if spec is None or spec == "none":
        return None
    classes = model.label_dim
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
    from ..runs.folder import load_run
    from ..evaluate.sample_io import check_output, iter_samples, write_samples
    from .common import seeds_option
    seeds, out = seeds_option("--seeds", args.seeds), Path(args.out)
    check_output(out, len(seeds), ())              # the file's kind and place, before any work
    run = load_run(args.run, args.device)
    shape = run.setup.data.data_shape
    check_output(out, len(seeds), shape)           # and its size
    labels = _sample_labels(args.class_label, seeds, run.model, run.model.device)
    extra = {} if labels is None else {"labels": labels}
    chunks = iter_samples(run.model, shape, seeds, **_sampler_kwargs(args), **extra)
    written = write_samples(chunks, out, len(seeds), shape, train=run.setup.data.train)
    print(f"wrote {written} samples to {args.out}")
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
    from ..transforms import build_sampler
    if spec is None:
        return run.setup.sampler or build_sampler(run.config.transforms, "images")
    sampler = build_sampler(spec, "images")
    if run.model.omega_dim > 0 and (run.setup.sampler is None
                                                   or sampler.names != run.setup.sampler.names):
        raise ValueError("--equivariance-transforms must list the run's own transforms for a model "
                         f"conditioned on omega ({run.config.transforms})")
    return sampler


def cmd_evaluate(args) -> int:
    from ..runs.checkpoint import save_json
    from ..evaluate.evaluation import GRID_FILE, evaluate_images, evaluate_points
    from ..runs.folder import load_run
    from ..sampling import sample
    from ..validation import integer, seed
    integer("--n-samples", args.n_samples, 2, 1_000_000)
    integer("--n-per-band", args.n_per_band, 1, 1_000_000)
    integer("--n-equivariance", args.n_equivariance, 1, 1_000_000)
    seed("--seed", args.seed)
    run = load_run(args.run, args.device)
    check_fits(f"{args.n_samples:,} samples", 4 * args.n_samples * math.prod(run.setup.data.data_shape) * 4)
    seeds = range(args.seed, args.seed + args.n_samples)
    label_spec = args.class_label
    if label_spec is None and run.model.label_dim:
        label_spec = "cycle"  # a class-conditional model samples every class in turn
    labels = _sample_labels(label_spec, seeds, run.model, run.model.device)
    samples = sample(run.model, run.setup.data.data_shape, seeds, device=run.model.device, **_sampler_kwargs(args),
                     **({} if labels is None else {"labels": labels})).float().cpu()
    result = {"run": str(run.run_dir), "step": run.step, "variant": run.config.variant,
              "data": run.config.data, "n_train": run.config.n_train, "sampling_seeds": f"{seeds.start}-{seeds.stop - 1}",
              "sampling_labels": "none (unconditional)" if labels is None else label_spec}
    if run.setup.data.kind == "images":
        from ..evaluate.classifier import default_classifier_path
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
