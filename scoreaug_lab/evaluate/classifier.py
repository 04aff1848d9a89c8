"""A small image classifier that the toolkit trains itself, for an offline proxy FID/KID.

The Inception network behind the standard FID needs weights from the internet; this CNN needs only the
training images (the local CIFAR-10 subset, the full CIFAR-10, or any labelled image set). Its
penultimate layer (`features`, `feature_dim` wide) is the feature space of the proxy FID. The
checkpoint keeps the test accuracy on the held-out split, so every proxy figure can say how good its
feature extractor was.

    net, info = train_classifier(train_x, train_y, test_x, test_y, epochs=15)
    save_classifier(net, info, "runs/classifier/cifar10.pt")
    net, info = load_classifier("runs/classifier/cifar10.pt")
    feats = net.features(images)          # (B, feature_dim), images (B, C, H, W) in [-1, 1]
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..runs.checkpoint import atomic_save, load_checkpoint
from ..train.distributed import DistInfo, rank_device


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """Three stages of two 3x3 conv-BN-ReLU blocks (width, 2 width, 4 width channels), 2x2 max-pooling
    between stages while the image is larger than 4 pixels, global average pooling, a `feature_dim`
    wide ReLU layer (the features) and a linear read-out. About 0.3 M parameters at width 32."""

    def __init__(self, image_shape=(3, 32, 32), num_classes: int = 10, width: int = 32, feature_dim: int = 128):
        super().__init__()
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {tuple(image_shape)}")
        if num_classes < 2 or width < 1 or feature_dim < 1:
            raise ValueError("num_classes must be >= 2, width and feature_dim >= 1")
        self.config = {"image_shape": [int(v) for v in image_shape], "num_classes": int(num_classes),
                       "width": int(width), "feature_dim": int(feature_dim)}
        self.feature_dim = int(feature_dim)
        c, size = image_shape[0], min(image_shape[1:])
        layers = []
        for i, mult in enumerate((1, 2, 4)):
            layers += [_block(c, width * mult), _block(width * mult, width * mult)]
            c = width * mult
            if i < 2 and size > 4:
                layers.append(nn.MaxPool2d(2))
                size //= 2
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.embed = nn.Sequential(nn.Linear(c, feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(feature_dim, num_classes)

    def check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or list(x.shape[1:]) != self.config["image_shape"]:
            raise ValueError(f"the classifier reads images (B, {', '.join(map(str, self.config['image_shape']))}), "
                             f"got shape {tuple(x.shape)}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features (B, feature_dim) of images (B, C, H, W) in [-1, 1]."""
        self.check_input(x)
        return self.embed(self.body(x.float()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def random_flip_shift(x: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Training augmentation: random left-right flips and shifts of up to max_shift pixels (zero pad)."""
    b, _, h, w = x.shape
    flip = torch.rand(b, generator=generator) < 0.5
    x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (max_shift,) * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, b), generator=generator).tolist()
    rows = torch.arange(h, device=x.device)[None, :] + torch.tensor(dy, device=x.device)[:, None]    # (B, H)
    cols = torch.arange(w, device=x.device)[None, :] + torch.tensor(dx, device=x.device)[:, None]    # (B, W)
    idx_b = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[idx_b, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


@torch.no_grad()
def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500, device=None) -> float:
    """Fraction of correctly classified images."""
    device = device or next(net.parameters()).device
    was_training = net.training
    net.eval()
    correct = 0
    for s in range(0, images.shape[0], batch_size):
        pred = net(images[s:s + batch_size].to(device)).argmax(1).cpu()
        correct += (pred == labels[s:s + batch_size].cpu()).sum().item()
    net.train(was_training)
    return correct / max(images.shape[0], 1)


def _check_labelled(name, x, y):
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ValueError(f"{name} images must be a float tensor (N, C, H, W) in [-1, 1]")
    if y is None or y.shape != (x.shape[0],):
        raise ValueError(f"{name} labels must be one integer per image, shape ({x.shape[0]},)")


def train_classifier(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                     epochs: int = 15, batch_size: int = 128, lr: float = 3e-3, weight_decay: float = 5e-4,
                     width: int = 32, feature_dim: int = 128, seed: int = 0, augment: bool = True, device=None,
                     progress=None) -> tuple[SmallCNN, dict]:
    """Train a `SmallCNN` with AdamW and a one-cycle learning-rate schedule (15 % warm-up); return (net in eval mode, info).

    info: test and train accuracy, sizes, epochs, seed, seconds; `progress(epoch, loss, test_acc)` is
    called after every epoch when given. Images (N, C, H, W) in [-1, 1], labels (N,) integers."""
    _check_labelled("training", train_x, train_y)
    _check_labelled("test", test_x, test_y)
    if min(train_y.min().item(), test_y.min().item() if test_y.numel() else 0) < 0:
        raise ValueError("class labels must be >= 0")
    num_classes = int(max(train_y.max().item(), test_y.max().item() if test_y.numel() else 0)) + 1
    if test_x.shape[1:] != train_x.shape[1:]:
        raise ValueError(f"training images {tuple(train_x.shape[1:])} and test images {tuple(test_x.shape[1:])} differ")
    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch_size must be >= 1")
    device = rank_device(device or "auto", DistInfo())  # auto: CUDA when available, else CPU
    torch.manual_seed(seed)
    net = SmallCNN(tuple(train_x.shape[1:]), max(num_classes, 2), width, feature_dim).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(train_x.shape[0] / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.15)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(train_x.shape[0], generator=g)
        total = 0.0
        for s in range(0, train_x.shape[0], batch_size):
            idx = order[s:s + batch_size]
            x = train_x[idx]
            if augment:
                x = random_flip_shift(x, g)
            loss = F.cross_entropy(net(x.to(device)), train_y[idx].to(device).long())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * idx.numel()
        if progress is not None:
            progress(epoch, total / train_x.shape[0], accuracy(net, test_x, test_y, device=device))
    net.eval()
    info = {"test_accuracy": accuracy(net, test_x, test_y, device=device),
            "train_accuracy": accuracy(net, train_x, train_y, device=device),
            "n_train": int(train_x.shape[0]), "n_test": int(test_x.shape[0]), "num_classes": num_classes,
            "epochs": epochs, "seed": seed, "feature_dim": feature_dim, "seconds": time.perf_counter() - start}
    return net, info


def save_classifier(net: SmallCNN, info: dict, path) -> None:
    """Atomic checkpoint: weights, architecture and the info dict (test accuracy included)."""
    atomic_save({"kind": "scoreaug-lab proxy classifier", "config": net.config, "info": dict(info),
                 "state_dict": net.state_dict()}, Path(path))


def load_classifier(path, device="cpu") -> tuple[SmallCNN, dict]:
    """(net in eval mode, info with 'path' added); loaded with torch.load(weights_only=True)."""
    ckpt = load_checkpoint(path, map_location=device)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != "scoreaug-lab proxy classifier":
        raise ValueError(f"{path} is not a classifier written by `scoreaug-lab classifier`")
    net = SmallCNN(**ckpt["config"]).to(device)
    net.load_state_dict(ckpt["state_dict"])
    net.eval()
    return net, {**ckpt["info"], "path": str(path)}


def default_classifier_path(data_spec: str) -> Path:
    """runs/classifier/<family>.pt, e.g. runs/classifier/cifar10.pt for 'cifar10:FILE.npz'."""
    from ..data import parse_spec
    return Path("runs") / "classifier" / f"{parse_spec(data_spec)[0]}.pt"


def load_labelled_images(spec: str, n_train: int | None = None, n_test: int = 10_000, seed: int = 0):
    """(train_x, train_y, test_x, test_y) of an image data spec (see scoreaug_lab.data); n_train None
    takes every training image of the pool, the test images come from the held-out split."""
    from ..data import data_kind, load_data, parse_spec
    if data_kind(spec) != "images":
        raise ValueError(f"the classifier needs an image data set (cifar10[:FILE.npz] or digits), got {spec!r}")
    if n_train is None:
        from ..data import images
        family, option = parse_spec(spec)
        if family == "cifar10":
            n_train = (images.read_cifar10_npz(option) if option else images.read_cifar10_torchvision())[0].shape[0]
        else:
            n_all = images.digits_images(images.digits_size(option))[0].shape[0]
            n_train = n_all - 10 * images.DIGITS_HELDOUT_PER_CLASS   # the digits held-out split is set aside
    data = load_data(spec, n_train, n_test, seed)
    if data.train_labels is None or data.heldout_labels is None:
        raise ValueError(f"data set {spec!r} has no class labels")
    return data.train, data.train_labels, data.heldout, data.heldout_labels
