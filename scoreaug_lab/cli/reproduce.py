"""`scoreaug-lab reproduce`: the paper's claims at small scale, with seeds, 95 % intervals and computed verdicts."""
from __future__ import annotations

import os
import sys


def add_reproduce_parser(sub) -> None:
    r = sub.add_parser(
        "reproduce", help="reproduce the paper's claims: seeds, 95 %% intervals, a computed verdict per claim",
        description="Train, sample and evaluate a fixed suite of runs and write DIR/report.md, DIR/results.json and "
                    "figures: for each of the paper's claims the settings, mean ± std and 95 % confidence intervals "
                    "over seeds, the effect size and a verdict computed from the interval. Resumable: rerun the same "
                    "command and finished runs are reused.")
    r.add_argument("--budget", choices=("smoke", "cpu", "gpu"), default="cpu",
                   help="smoke: every code path in under 2 minutes (meaningless numbers, what CI runs); cpu: digits, "
                        "about 30 min on 2 cores (default); gpu: the paper's CIFAR-10 setting (needs a CUDA GPU)")
    r.add_argument("--out", default=None, help="output folder (default runs/reproduce-<budget>)")
    r.add_argument("--workers", type=int, default=None,
                   help="parallel worker processes, one torch thread each (default: every core; 1 on a GPU)")
    r.add_argument("--seeds", default=None, help="override the budget's seeds, e.g. 0-9 (at least 2; default: the budget's, 0-7 for cpu)")
    r.add_argument("--steps", type=int, default=None, help="override the training steps of the main cells")
    r.add_argument("--data", default=None, help="override the main data spec (e.g. cifar10:FILE.npz for the gpu budget)")
    r.add_argument("--with-cifar", action="store_true",
                   help="cpu budget: add CIFAR-10-subset cells to claims 1-2 when the subset is present (about 20 min "
                        "more on 2 cores)")
    r.add_argument("--allow-cpu", action="store_true", help="run the gpu budget on the CPU anyway (far too slow)")
    r.add_argument("--publish", default=None, metavar="DEST",
                   help="afterwards copy the report, results.json and figures into DEST (e.g. reports/reproduce-cpu) "
                        "with provenance.json (commit, environment)")
    r.add_argument("--readme", default=None, metavar="README",
                   help="with --publish: regenerate README's verdict table from DEST/results.json")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_reproduce(args) -> int:
    from ..reproduce import reproduce
    from ..reproduce.outdir import check_folder
    from .common import UsageError, seeds_option

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps must be >= 1, got {args.steps}")
    if args.readme and not args.publish:
        raise UsageError("--readme needs --publish DEST (the table is generated from DEST/results.json)")
    if args.readme and not os.path.isfile(args.readme):
        raise UsageError(f"--readme {args.readme}: no such file")
    seeds = seeds_option("--seeds", args.seeds) if args.seeds else None
    out = args.out if args.out is not None else f"runs/reproduce-{args.budget}"
    check_folder(out, "--out")                  # before any work: '' , a file, a user's folder are refused
    if args.publish is not None:
        check_folder(args.publish, "--publish")
        if os.path.realpath(args.publish) == os.path.realpath(out):
            raise UsageError("--publish must name a folder other than --out")
    summary = reproduce(args.budget, out, workers=args.workers,
                        seeds=seeds, steps=args.steps, data=args.data,
                        with_cifar=args.with_cifar, allow_cpu=args.allow_cpu, progress=not args.no_progress,
                        log=lambda message: print(message, file=sys.stderr, flush=True))
    print(f"report: {summary['report']}")
    if args.publish:
        from ..reproduce.publish import publish
        print(f"published: {publish(out, args.publish, readme=args.readme)}")
    return 0
