"""runs.folder: a trained run's folder (weights-only checkpoint, config.json, no temporary files) loads."""
import json

import torch

from scoreaug_lab.runs.folder import load_run
from scoreaug_lab.train.loop import TrainConfig, train

SMALL = dict(data="toy:gmm8", n_train=32, n_heldout=200, steps=40, batch_size=32, log_every=5, ckpt_every=10,
             progress=False, model_kwargs={"width": 32, "depth": 2, "fourier_features": 8})


def test_checkpoint_is_weights_only_and_run_loads(tmp_path):
    train(TrainConfig(**SMALL, variant="scoreaug", out=str(tmp_path / "r")))
    ckpt = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 40 and ckpt["config"]["variant"] == "scoreaug"
    assert json.loads((tmp_path / "r" / "config.json").read_text())["steps"] == 40
    run = load_run(tmp_path / "r", device="cpu")
    assert run.step == 40 and not run.model.training and run.model.omega_dim == 4  # rot90 (3) + flip (1)
    assert not list((tmp_path / "r").glob(".*.tmp"))  # no temporary files left behind
