"""train.step_updates: gradient clipping and the EMA update equal torch's own functions, bit for bit."""
import pytest
import torch

from scoreaug_lab.runs.folder import read_metrics
from scoreaug_lab.train.loop import TrainConfig, train

from support import _equal_dicts, _weights

SMALL = dict(data="toy:gmm8", n_train=32, n_heldout=200, steps=40, batch_size=32, log_every=5, ckpt_every=10,
             progress=False, model_kwargs={"width": 32, "depth": 2, "fourier_features": 8})


class TorchPath:
    """StepUpdates as torch's own functions (the oracle of the fast path)."""

    def __init__(self, model, ema):
        self.model, self.ema = model, ema

    def clip_gradients(self, max_norm):
        return torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)

    def update_ema(self):
        self.ema.update_parameters(self.model)


@pytest.mark.parametrize("grad_clip", [0.0, 1e-3])   # never clipping, clipping every step
def test_step_updates_equal_torch_clipping_and_ema_bit_for_bit(tmp_path, monkeypatch, grad_clip):
    cfg = dict(SMALL, variant="scoreaug", transforms="rot90,scale", aug_prob=0.5, grad_clip=grad_clip)
    train(TrainConfig(**cfg, out=str(tmp_path / "fast")))
    monkeypatch.setattr("scoreaug_lab.train.loop.StepUpdates", TorchPath)
    train(TrainConfig(**cfg, out=str(tmp_path / "torch")))
    (m1, e1, o1), (m2, e2, o2) = _weights(tmp_path / "fast"), _weights(tmp_path / "torch")
    assert _equal_dicts(m1, m2) and _equal_dicts(e1, e2)
    assert all(_equal_dicts(o1[k], o2[k]) for k in o1)
    norms = [m["grad_norm"] for m in read_metrics(tmp_path / "fast")]
    assert norms == [m["grad_norm"] for m in read_metrics(tmp_path / "torch")]
