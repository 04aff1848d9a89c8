"""`scoreaug-lab classifier` (the proxy-FID feature network) and `scoreaug-lab demo`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import validation as V


def add_classifier_parser(sub) -> None:
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


def add_demo_parser(sub) -> None:
    d = sub.add_parser("demo", help="no-aug vs ScoreAug on the 8-mode mixture, 3 seeds; table + figure")
    d.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    d.add_argument("--seeds", default="0,1,2", help="training seeds (default 0,1,2)")
    d.add_argument("--steps", type=int, default=None, help="training steps per run (default: the demo's)")
    d.add_argument("--n-samples", type=int, default=None, help="samples per run (default: the demo's)")


def cmd_classifier(args) -> int:
    from ..runs.checkpoint import save_json
    from ..evaluate.classifier import default_classifier_path, load_labelled_images, save_classifier, train_classifier
    from ..train.build import resolve_device
    from ..evaluate.sample_io import check_output_file
    out = Path(args.out) if args.out else default_classifier_path(args.data)
    check_output_file(out, (".pt",), "--out")          # before the work, not after it
    V.integer("--epochs", args.epochs, 1, 10_000)
    V.integer("--batch-size", args.batch_size, 1, 1 << 16)
    V.number("--lr", args.lr, 0.0, 1.0, low_open=True)
    V.integer("--width", args.width, 1, 4096)
    V.integer("--feature-dim", args.feature_dim, 1, 1 << 16)
    V.seed("--seed", args.seed)
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
    from ..course.demo import run_demo
    from .common import seeds_option
    kwargs = {k: v for k, v in (("steps", args.steps), ("n_samples", args.n_samples)) if v is not None}
    run_demo(args.out, seeds=seeds_option("--seeds", args.seeds), **kwargs)
    return 0
