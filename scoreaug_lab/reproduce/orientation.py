"""The orientation classifier: how the reproduction measures rotation leakage directly.

A `classifier.SmallCNN` with 4 classes learns which quarter turn k (counter-clockwise, k = 0 upright, 1, 2, 3;
exactly `torch.rot90(x, k, dims=(-2, -1))`, the toolkit's `rot90` transform) was applied to an image. It is
trained on the training images and their three rotations, and tested on the held-out images and theirs. A
generative model that leaks the augmentation produces rotated images; the fraction of its samples judged
rotated (predicted k != 0) measures the leak. A model trained with rot90 at probability p and not told
omega learns the mixture of upright (1 - p + p/4) and rotated (3p/4) images, so about 3p/4 of its samples
come out rotated; a model told omega and sampled at omega = 0 should produce about none.

The classifier's own errors set the floor and the ceiling: `info` records its 4-way held-out accuracy, the
fraction of upright held-out images it calls rotated (false_rotated) and the fraction of rotated ones it
calls rotated (detected_rotated); `corrected_fraction` undoes both for an estimate of the true fraction.

    net, info = train_orientation_classifier(data.train, data.heldout, epochs=8)
    fraction = judged_rotated(net, samples)["judged_rotated"]
"""
from __future__ import annotations

import torch

from ..evaluate.classifier import accuracy, load_classifier, save_classifier, train_classifier

QUARTER_TURNS = (0, 1, 2, 3)


def with_rotations(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, C, H, W) -> (all four orientations (4N, C, H, W), their quarter turns k (4N,)); block k holds
    torch.rot90(images, k, dims=(-2, -1))."""
    if images.ndim != 4 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"orientations need square images (N, C, H, W), got shape {tuple(images.shape)}")
    rotated = torch.cat([torch.rot90(images, k, dims=(-2, -1)) for k in QUARTER_TURNS])
    turns = torch.arange(len(QUARTER_TURNS)).repeat_interleave(images.shape[0])
    return rotated.contiguous(), turns


@torch.no_grad()
def predict_turns(net, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted quarter turn (N,) of each image (N, C, H, W)."""
    device = next(net.parameters()).device
    net.eval()
    return torch.cat([net(images[s:s + batch_size].to(device)).argmax(1).cpu()
                      for s in range(0, images.shape[0], batch_size)])


def judged_rotated(net, images: torch.Tensor) -> dict:
    """Fraction of images judged rotated (predicted k != 0) and the fraction predicted for each k."""
    if images.shape[0] < 1:
        raise ValueError("judged_rotated needs at least one image")
    pred = predict_turns(net, images)
    counts = torch.bincount(pred, minlength=len(QUARTER_TURNS)).double() / pred.numel()
    return {"judged_rotated": float((pred != 0).double().mean()), "turn_fractions": counts.tolist(),
            "n": int(images.shape[0])}


def train_orientation_classifier(train: torch.Tensor, heldout: torch.Tensor, epochs: int = 8, width: int = 16,
                                 feature_dim: int = 64, batch_size: int = 128, lr: float = 3e-3, seed: int = 0,
                                 device=None) -> tuple:
    """(net, info): a 4-way quarter-turn classifier trained on `train` and its rotations (no flips or shifts:
    a mirror image would change the answer). info: held-out 4-way accuracy, false_rotated (upright held-out
    images called rotated), detected_rotated (rotated held-out images called rotated), sizes, seconds."""
    x_train, k_train = with_rotations(train)
    x_test, k_test = with_rotations(heldout)
    net, info = train_classifier(x_train, k_train, x_test, k_test, epochs=epochs, batch_size=batch_size, lr=lr,
                                 width=width, feature_dim=feature_dim, seed=seed, augment=False, device=device)
    n = heldout.shape[0]
    upright = judged_rotated(net, heldout)["judged_rotated"]
    rotated = judged_rotated(net, x_test[n:])["judged_rotated"]
    info = {**info, "purpose": "orientation (quarter turns k = 0..3)", "heldout_accuracy": info["test_accuracy"],
            "false_rotated": upright, "detected_rotated": rotated,
            "per_turn_accuracy": [accuracy(net, x_test[k * n:(k + 1) * n], k_test[k * n:(k + 1) * n])
                                  for k in QUARTER_TURNS]}
    return net, info


def corrected_fraction(observed: float, false_rotated: float, detected_rotated: float, clip: bool = True) -> float:
    """The true fraction r of rotated images implied by an observed judged-rotated fraction, from
    observed = r detected + (1 - r) false  (clipped to [0, 1] unless clip=False, e.g. for an interval over
    seeds, which clipping would bias; nan when the classifier cannot tell them apart)."""
    spread = detected_rotated - false_rotated
    if spread <= 0:
        return float("nan")
    r = (observed - false_rotated) / spread
    return min(1.0, max(0.0, r)) if clip else r


def save_orientation_classifier(net, info: dict, path) -> None:
    save_classifier(net, info, path)


def load_orientation_classifier(path, device="cpu") -> tuple:
    net, info = load_classifier(path, device)
    if net.config["num_classes"] != len(QUARTER_TURNS) or "orientation" not in str(info.get("purpose", "")):
        raise ValueError(f"{path} is not an orientation classifier (4 quarter turns)")
    return net, info


__all__ = ["QUARTER_TURNS", "with_rotations", "predict_turns", "judged_rotated", "train_orientation_classifier",
           "corrected_fraction", "save_orientation_classifier", "load_orientation_classifier"]
