"""train.loop: exact resume, interrupts, accumulation, compile and fused AdamW against references; loss falls."""
import functools
import time

import pytest
import torch

from scoreaug_lab.evaluate.metrics import denoising_loss_by_band, oracle_errors
from scoreaug_lab.runs.checkpoint import load_checkpoint
from scoreaug_lab.runs.folder import read_metrics
from scoreaug_lab.train.loop import TrainConfig, train, train_iter

from support import _equal_dicts, _weights

SMALL = dict(data="toy:gmm8", n_train=32, n_heldout=200, steps=40, batch_size=32, log_every=5, ckpt_every=10,
             progress=False, model_kwargs={"width": 32, "depth": 2, "fourier_features": 8})

TINY = dict(data="digits:8", n_train=64, n_heldout=20, model_kwargs={"model_channels": 8}, steps=6, batch_size=8,
            log_every=2, ckpt_every=3, progress=False)
# every random stream of a step: transforms, x-flips, label dropout, and dropout inside the network
ALL_RANDOM = dict(variant="scoreaug", xflip=True, class_cond=True, label_dropout=0.3,
                  model_kwargs={"model_channels": 8, "dropout": 0.2})


# --- toy points ------------------------------------------------------------------------------------------
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


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_exception_inside_a_step_never_saves_that_step_under_the_last_label(tmp_path, monkeypatch, capsys, error):
    """An optimiser post-hook raises at step 13, after optimizer.step() (not a deferred SIGINT): the checkpoint
    left is what a run stopped cleanly at its label step holds (weights and generators), and resuming it gives the
    straight run bit for bit."""
    from scoreaug_lab.train.loop import Trainer
    real_init = Trainer.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        calls = []

        def hook(optimizer, hook_args, hook_kwargs):
            calls.append(1)
            if len(calls) == 13:
                raise error("raised by an optimiser hook after step 13's update")
        self.optimizer.register_step_post_hook(hook)

    run = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(Trainer, "__init__", init)
        with pytest.raises(error):
            train(TrainConfig(**SMALL, out=str(run)))
    torn = load_checkpoint(run / "checkpoint.pt")
    assert torn["step"] == 10                    # the last checkpoint; steps 11 and 12 are trained again
    if error is KeyboardInterrupt:
        assert "stopped inside step 13: its half-done state is not saved" in capsys.readouterr().out
    train(TrainConfig(**{**SMALL, "steps": 10}, out=str(tmp_path / "clean")))
    clean = load_checkpoint(tmp_path / "clean" / "checkpoint.pt")
    assert all(_equal_dicts(torn[k], clean[k]) for k in ("model", "ema"))
    assert torch.equal(torn["generator"], clean["generator"])
    train(TrainConfig(**SMALL, out=str(run)))
    train(TrainConfig(**SMALL, out=str(tmp_path / "straight")))
    (m1, e1, o1), (m2, e2, o2) = _weights(run), _weights(tmp_path / "straight")
    assert _equal_dicts(m1, m2) and _equal_dicts(e1, e2) and all(_equal_dicts(o1[k], o2[k]) for k in o1)


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


def test_grad_accumulation_matches_full_batch(tmp_path):
    """Two micro-batches of 16 give the same update as one batch of 32 (to float tolerance)."""
    a = train(TrainConfig(**{**SMALL, "steps": 3}))
    b = train(TrainConfig(**{**SMALL, "steps": 3, "grad_accum": 2}))
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert (pa - pb).abs().max() < 1e-5


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


# --- images ----------------------------------------------------------------------------------------------
def test_digits_run_learns():
    """A fixed probe (same noises before and after): the denoising loss falls in every band from sigma 0.05."""
    cfg = TrainConfig(data="digits:8", n_train=256, n_heldout=20, steps=100, batch_size=32, lr=2e-3,
                      warmup_steps=10, model_kwargs={"model_channels": 16}, progress=False)
    for state in train_iter(cfg):
        if state.step == 1:
            before = denoising_loss_by_band(state.model, state.setup.data.train, n_per_band=128)
    after = denoising_loss_by_band(state.model, state.setup.data.train, n_per_band=128)
    for b, a in zip(before[1:], after[1:]):
        assert a["loss"] < 0.85 * b["loss"], (b, a)
    assert sum(a["loss"] for a in after[1:]) < 0.6 * sum(b["loss"] for b in before[1:])


def _state(run_dir):
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    return ckpt["model"], ckpt["ema"], ckpt["optimizer"]["state"]


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_image_resume_is_bitwise_exact(tmp_path):
    cfg = dict(TINY, **ALL_RANDOM, grad_accum=2)
    train(TrainConfig(**cfg, out=str(tmp_path / "straight")))
    clock = time.perf_counter()
    train(TrainConfig(**{**cfg, "steps": 3}, out=str(tmp_path / "split")))
    train(TrainConfig(**cfg, out=str(tmp_path / "split")))
    wall = time.perf_counter() - clock
    (m1, e1, o1), (m2, e2, o2) = _state(tmp_path / "straight"), _state(tmp_path / "split")
    assert _equal(m1, m2) and _equal(e1, e2) and all(_equal(o1[k], o2[k]) for k in o1)
    assert [m["step"] for m in read_metrics(tmp_path / "split")] == [2, 3, 4, 6]  # 3: the first part's end
    # each logged rate is the images of its steps over their time, which is less than the whole wall time
    steps = [0] + [m["step"] for m in read_metrics(tmp_path / "split")]
    for line, start in zip(read_metrics(tmp_path / "split"), steps):
        images = (line["step"] - start) * cfg["batch_size"]
        assert images / wall <= line["samples_per_sec"] < float("inf"), (line, wall)


def test_image_grad_accumulation_matches_full_batch():
    """x-flips, labels and transforms are sliced per micro-batch from the global draw."""
    cfg = dict(TINY, **{**ALL_RANDOM, "model_kwargs": {"model_channels": 8}}, steps=2)
    a = train(TrainConfig(**cfg))
    b = train(TrainConfig(**cfg, grad_accum=4))
    assert max((pa - pb).abs().max().item() for pa, pb in zip(a.model.parameters(), b.model.parameters())) < 1e-5


def test_channels_last_matches_contiguous():
    cfg = dict(TINY, variant="scoreaug", steps=2)
    a = train(TrainConfig(**cfg))
    b = train(TrainConfig(**cfg, channels_last=True))
    conv = b.model.enc[0].conv0.weight  # (8, 8, 3, 3)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert max((pa - pb).abs().max().item() for pa, pb in zip(a.model.parameters(), b.model.parameters())) < 1e-5


def test_class_conditional_model_sees_labels():
    state = train(TrainConfig(**{**TINY, "steps": 3}, class_cond=True, label_dropout=0.5))
    model = state.model
    assert model.label_dim == 10
    x, sigma = torch.randn(4, 1, 8, 8), torch.full((4,), 0.5)
    with torch.no_grad():
        zero = model(x, sigma, labels=torch.zeros(4, 10))   # a dropped label is exactly 'no label'
        assert torch.equal(zero, model(x, sigma))
        assert not torch.equal(model(x, sigma, labels=torch.arange(4)), zero)


@pytest.mark.slow
def test_compile_traces_and_matches_eager(monkeypatch):
    """torch.compile's graph capture and autograd (aot_eager backend: no C++ build) give the eager result."""
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    cfg = dict(TINY, variant="scoreaug", class_cond=True, label_dropout=0.5, steps=2)
    a = train(TrainConfig(**cfg))
    b = train(TrainConfig(**cfg, compile=True))
    assert max((pa - pb).abs().max().item() for pa, pb in zip(a.model.parameters(), b.model.parameters())) < 1e-5


@pytest.mark.slow
@pytest.mark.skipif("not __import__('os').environ.get('SCOREAUG_TEST_COMPILE')",
                    reason="the inductor backend builds C++ kernels: about 3 minutes for one tiny U-Net step on "
                           "a 2-core CPU; set SCOREAUG_TEST_COMPILE=1 to run it")
def test_compile_inductor_one_step():
    """The inductor-compiled step takes the eager step (to float tolerance: fused kernels round differently)."""
    compiled = train(TrainConfig(**{**TINY, "steps": 1}, compile=True))
    eager = train(TrainConfig(**{**TINY, "steps": 1}))
    assert abs(compiled.loss - eager.loss) < 1e-4 * max(1.0, abs(eager.loss))
    assert max((a - b).abs().max().item() for a, b in zip(compiled.model.parameters(), eager.model.parameters())) < 1e-5


def _evals(run_dir):
    from scoreaug_lab.evaluate.metrics import low_sigma_mean
    return [(r["step"], low_sigma_mean(r["eval"], "heldout")) for r in read_metrics(run_dir) if "eval" in r]


def test_keep_best_saves_the_ema_of_the_lowest_heldout_evaluation_and_survives_a_resume(tmp_path):
    """best_ema.pt holds the EMA weights of the evaluation with the lowest held-out loss (read back from
    metrics.jsonl), the same whether the run went straight through or was stopped and resumed in between;
    load_run(best=True) serves exactly those weights."""
    from scoreaug_lab.runs.folder import load_run
    cfg = dict(SMALL, n_train=16, steps=60, eval_every=10, keep_best=True, variant="scoreaug",
               transforms="rot90", aug_prob=0.5)
    train(TrainConfig(**cfg, out=str(tmp_path / "straight")))
    train(TrainConfig(**{**cfg, "steps": 30}, out=str(tmp_path / "split")))   # stops at an evaluation
    train(TrainConfig(**cfg, out=str(tmp_path / "split")))
    for run in ("straight", "split"):
        evals = _evals(tmp_path / run)
        step, value = min(evals, key=lambda e: e[1])
        best = load_checkpoint(tmp_path / run / "best_ema.pt")
        assert (best["step"], best["heldout"]) == (step, value) and len(evals) == 6
    a = load_checkpoint(tmp_path / "straight" / "best_ema.pt")["ema"]
    b = load_checkpoint(tmp_path / "split" / "best_ema.pt")["ema"]
    assert _equal_dicts(a, b)
    served = load_run(tmp_path / "split", device="cpu", best=True)
    assert served.step == step
    assert all(torch.equal(v, a["module." + k]) for k, v in served.model.state_dict().items())
    with pytest.raises(ValueError, match="eval_every"):
        TrainConfig(**{**cfg, "eval_every": 0}).validate()


def test_transform_draws_leave_the_training_stream_alone():
    """sigma and the noise of every step do not depend on the augmentation: its draws come from a second
    generator (so arms of one seed are paired step for step)."""
    from scoreaug_lab.train.distributed import detect
    from scoreaug_lab.train.loop import Trainer
    draws = {}
    for variant, p in (("noaug", 0.5), ("scoreaug", 0.5), ("scoreaug", 1.0), ("clean-omega", 0.3)):
        trainer = Trainer(TrainConfig(**{**SMALL, "variant": variant, "transforms": "rot90,scale", "aug_prob": p}),
                          detect(), torch.device("cpu"))
        draws[(variant, p)] = [trainer.draw_batch() for _ in range(4)]
    ref = draws[("noaug", 0.5)]
    for key, batches in draws.items():
        for (idx, _, r, _), (ref_idx, _, ref_r, _) in zip(batches, ref):
            assert torch.equal(idx, ref_idx) and torch.equal(r.sigma, ref_r.sigma) and torch.equal(r.noise, ref_r.noise)
