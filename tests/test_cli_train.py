"""cli.train: presets and explicit options into a TrainConfig, against the paper's numbers and the defaults."""
import pytest

from scoreaug_lab.cli import build_parser, train_config_from_args
from scoreaug_lab.presets import PRESETS
from scoreaug_lab.train.loop import TrainConfig


def _train_args(*argv):
    return train_config_from_args(build_parser().parse_args(["train", "--out", "r", *argv]))


def test_presets_and_explicit_overrides():
    paper = _train_args("--preset", "cifar10-paper")
    assert paper.preset == "cifar10-paper" and paper.model == "unet-ddpmpp" and paper.data == "cifar10"
    assert paper.batch_size == 512 and abs(paper.steps * paper.batch_size - 200e6) <= 512
    assert abs(paper.ema_decay ** (500_000 / 512) - 0.5) < 1e-9  # EMA half-life of 0.5 M images
    assert paper.warmup_steps * 512 == pytest.approx(10e6, abs=512) and paper.lr == 1e-3
    assert paper.model_kwargs == {"dropout": 0.13} and paper.amp and paper.xflip and paper.aug_prob == 0.12
    assert paper.variant == "noaug"  # a preset fixes the scale, not the experiment
    # explicit options win, including switching a preset's flag off; model options merge
    cpu = _train_args("--preset", "digits-cpu", "--steps", "7", "--no-xflip", "--variant", "scoreaug",
                      "--model-opt", "model_channels=8")
    assert cpu.steps == 7 and not cpu.xflip and cpu.variant == "scoreaug" and cpu.batch_size == 64
    assert cpu.model_kwargs == {"model_channels": 8}
    other = _train_args("--preset", "cifar10-paper", "--model", "dit-s", "--no-amp")
    assert other.model == "dit-s" and other.model_kwargs == {} and not other.amp
    plain = _train_args()
    assert plain == TrainConfig(out="r")  # no preset: the TrainConfig defaults
    for name in PRESETS:
        _train_args("--preset", name)  # every preset validates (transforms parse, options are known)
