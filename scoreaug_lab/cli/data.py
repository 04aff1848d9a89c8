"""`scoreaug-lab data cifar10-subset`: a balanced CIFAR-10 subset .npz from torchvision's download."""
from __future__ import annotations

import json


def add_data_parser(sub) -> None:
    d = sub.add_parser("data", help="build local data files (a balanced CIFAR-10 subset .npz)",
                       description="Build a balanced CIFAR-10 subset from the full CIFAR-10 that torchvision "
                                   "downloads (once) into $SCOREAUG_DATA_DIR/cifar10 (default data/cifar10); "
                                   "use it with --data cifar10:FILE.npz.")
    d.add_argument("what", choices=["cifar10-subset"], help="the file to build")
    d.add_argument("--n-train", type=int, default=10_000, help="training images, balanced (default 10000)")
    d.add_argument("--n-test", type=int, default=2_000, help="test images, balanced (default 2000)")
    d.add_argument("--seed", type=int, default=0, help="seed of the balanced order (default 0)")
    d.add_argument("--out", default=None, help="output .npz (default $SCOREAUG_DATA_DIR/cifar10_subset.npz, else "
                                               "data/cifar10_subset.npz in the project: where notebooks look)")
    d.add_argument("--root", default=None, help="torchvision's CIFAR-10 folder (default $SCOREAUG_DATA_DIR/cifar10)")
    d.add_argument("--no-download", action="store_true", help="use only a copy already in --root")


def cmd_data(args) -> int:
    from ..data.images import built_cifar_npz
    from ..data.subset import build_cifar10_subset
    info = build_cifar10_subset(args.out or built_cifar_npz(), args.n_train, args.n_test, args.seed, root=args.root,
                                download=not args.no_download)
    print(json.dumps(info))
    return 0
