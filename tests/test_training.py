"""Training loop: exact resume, checkpoints, metrics log, interrupts, loss falls."""
import json

import pytest
import torch

from scoreaug_lab.evaluate.metrics import oracle_errors
from scoreaug_lab.runs.checkpoint import load_checkpoint
from scoreaug_lab.runs.folder import load_run, read_metrics
from scoreaug_lab.train.loop import TrainConfig, train, train_iter

SMALL = dict(data="toy:gmm8", n_train=32, n_heldout=200, steps=40, batch_size=32, log_every=5, ckpt_every=10,
             progress=False, model_kwargs={"width": 32, "depth": 2, "fourier_features": 8})


def _weights(run_dir):
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    return ckpt["model"], ckpt["ema"], ckpt["optimizer"]["state"]


def _equal_dicts(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("variant", ["noaug", "scoreaug", "clean-omega"])
def test_resume_is_bitwise_exact(tmp_path, variant):
    """N steps, then resume to N + M, gives bitwise the same weights as N + M steps straight."""
    cfg = dict(SMALL, variant=variant, transforms="rot90,scale", aug_prob=0.5)
    train(TrainConfig(**cfg, out=str(tmp_path / "straight")))
    train(TrainConfig(**{**cfg, "steps": 25}, out=str(tmp_path / "split")))
    assert load_checkpoint(tmp_path / "split" / "checkpoint.pt")["step"] == 25
    train(TrainConfig(**cfg, out=str(tmp_path / "split")))
    m1, e1, o1 = _weights(tmp_path / "straight")
    m2, e2, o2 = _weights(tmp_path / "split")
    assert _equal_dicts(m1, m2) and _equal_dicts(e1, e2)
    assert all(_equal_dicts(o1[k], o2[k]) for k in o1)
    # the metric log has one line per logged step, none duplicated by the resume
    steps = [m["step"] for m in read_metrics(tmp_path / "split")]
    assert steps == sorted(set(steps)) == list(range(5, 41, 5))


def test_interrupted_loop_keeps_last_completed_step(tmp_path):
    cfg = TrainConfig(**SMALL, out=str(tmp_path / "run"))
    for state in train_iter(cfg):
        if state.step == 13:
            break  # a notebook leaving the loop: GeneratorExit saves step 13
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 13
    train(cfg)
    straight = TrainConfig(**SMALL, out=str(tmp_path / "straight"))
    train(straight)
    assert _equal_dicts(_weights(tmp_path / "run")[0], _weights(tmp_path / "straight")[0])


def test_checkpoint_is_weights_only_and_run_loads(tmp_path):
    train(TrainConfig(**SMALL, variant="scoreaug", out=str(tmp_path / "r")))
    ckpt = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 40 and ckpt["config"]["variant"] == "scoreaug"
    assert json.loads((tmp_path / "r" / "config.json").read_text())["steps"] == 40
    run = load_run(tmp_path / "r", device="cpu")
    assert run.step == 40 and not run.model.training and run.model.omega_dim == 4  # rot90 (3) + flip (1)
    assert not list((tmp_path / "r").glob(".*.tmp"))  # no temporary files left behind


def test_training_moves_the_denoiser_towards_the_true_one(tmp_path):
    """Against the closed-form mixture denoiser (the oracle), the error falls during training."""
    cfg = TrainConfig(**{**SMALL, "n_train": 2000, "steps": 300, "batch_size": 64, "eval_every": 150,
                         "model_kwargs": {"width": 64, "depth": 2, "fourier_features": 16}}, out=str(tmp_path / "r"))
    before = None
    for state in train_iter(cfg):
        if before is None:  # after the first step: essentially the initial network
            data = state.setup.data
            before = oracle_errors(state.model, data.train, data.heldout, truth=data.truth, n_per_band=256)
    after = oracle_errors(state.model, data.train, data.heldout, truth=data.truth, n_per_band=256)
    for b, a in zip(before[2:], after[2:]):  # sigma in 0.2 .. 80
        assert a["vs_true"] < 0.7 * b["vs_true"]
    evals = [m for m in read_metrics(tmp_path / "r") if "eval" in m]
    assert [m["step"] for m in evals] == [150, 300] and len(evals[0]["eval"]) == 5


def test_bad_configs_raise():
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=10, grad_accum=3).validate()
    with pytest.raises(ValueError, match="unknown variant"):
        TrainConfig(variant="foo").validate()
    with pytest.raises(ValueError, match="unknown data spec"):
        train(TrainConfig(data="mnist", steps=1, progress=False))


def test_grad_accumulation_matches_full_batch(tmp_path):
    """Two micro-batches of 16 give the same update as one batch of 32 (to float tolerance)."""
    a = train(TrainConfig(**{**SMALL, "steps": 3}))
    b = train(TrainConfig(**{**SMALL, "steps": 3, "grad_accum": 2}))
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert (pa - pb).abs().max() < 1e-5


def test_ema_warms_up_and_then_follows_its_decay():
    """The EMA decay ramps as min(decay, (1 + n) / (10 + n)): check against that closed form on a scalar."""
    from scoreaug_lab.train.build import ema_with_warmup

    update = ema_with_warmup(0.9)
    ema, value = [torch.zeros(1, dtype=torch.float64)], 0.0
    for n in range(1, 60):
        target = torch.full((1,), float(n), dtype=torch.float64)
        update(ema, [target], torch.tensor(n))
        d = min(0.9, (1 + n) / (10 + n))
        value = d * value + (1 - d) * n
        assert abs(ema[0].item() - value) < 1e-12


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


def test_optimiser_is_torchs_fused_adamw_and_follows_the_for_loop_one(tmp_path, monkeypatch):
    """On the CPU the trainer uses AdamW's fused kernel; the weights it reaches agree with those of torch's
    reference for-loop AdamW (the oracle: same rule, other kernel) to rounding after 40 steps."""
    from scoreaug_lab.train import loop as training
    cfg = dict(SMALL, variant="scoreaug", transforms="rot90,scale", aug_prob=0.5)
    trainer = training.Trainer(TrainConfig(**cfg), training.DistInfo(), torch.device("cpu"))
    assert trainer.optimizer.defaults["fused"] is True
    train(TrainConfig(**cfg, out=str(tmp_path / "fused")))

    def loop_adamw(model, config):
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                 foreach=False, fused=False)
    monkeypatch.setattr(training, "build_optimizer", loop_adamw)
    train(TrainConfig(**cfg, out=str(tmp_path / "loop")))
    (m1, _, _), (m2, _, _) = _weights(tmp_path / "fused"), _weights(tmp_path / "loop")
    assert m1.keys() == m2.keys()
    for k in m1:
        torch.testing.assert_close(m1[k], m2[k], rtol=1e-4, atol=1e-5)
