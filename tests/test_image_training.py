"""Training on images: a short digits run learns, exact resume with every random stream, gradient
accumulation, class conditioning, channels_last and torch.compile, presets, the CLI and its PNG grids."""
import functools
import json
import time

import pytest
import torch

from scoreaug_lab.cli import build_parser, main, train_config_from_args
from scoreaug_lab.evaluate.metrics import denoising_loss_by_band
from scoreaug_lab.presets import PRESETS
from scoreaug_lab.runs.checkpoint import load_checkpoint
from scoreaug_lab.runs.folder import load_run, read_metrics
from scoreaug_lab.train.loop import TrainConfig, train, train_iter

TINY = dict(data="digits:8", n_train=64, n_heldout=20, model_kwargs={"model_channels": 8}, steps=6, batch_size=8,
            log_every=2, ckpt_every=3, progress=False)
# every random stream of a step: transforms, x-flips, label dropout, and dropout inside the network
ALL_RANDOM = dict(variant="scoreaug", xflip=True, class_cond=True, label_dropout=0.3,
                  model_kwargs={"model_channels": 8, "dropout": 0.2})


def _state(run_dir):
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    return ckpt["model"], ckpt["ema"], ckpt["optimizer"]["state"]


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_model_and_transforms_default_by_data_kind():
    assert TrainConfig(data="toy:gmm8").model == "mlp" and TrainConfig(data="toy:gmm8").transforms == "rot90,flip"
    images = TrainConfig(data="digits")
    assert images.model == "unet-tiny" and images.transforms == "brightness,translate,cutout,rot90"
    assert TrainConfig(data="digits", model="dit-s").model == "dit-s"


def test_image_options_are_checked():
    with pytest.raises(ValueError, match="label_dropout needs class_cond"):
        TrainConfig(data="digits", label_dropout=0.1).validate()
    with pytest.raises(ValueError, match="are for image data"):
        TrainConfig(data="toy:gmm8", xflip=True).validate()
    with pytest.raises(ValueError, match="class_cond needs a data set with class labels"):
        train(TrainConfig(data="toy:gmm8", class_cond=True, steps=1, progress=False))


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


def test_cli_digits_train_and_sample_grid(tmp_path, capsys, monkeypatch):
    from PIL import Image
    run = tmp_path / "run"
    args = ["train", "--preset", "digits-cpu", "--data", "digits:8", "--n-train", "40", "--n-heldout", "20",
            "--steps", "3", "--batch-size", "8", "--model-opt", "model_channels=8", "--class-cond",
            "--label-dropout", "0.1", "--variant", "scoreaug", "--out", str(run), "--no-progress"]
    assert main(args) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["preset"] == "digits-cpu" and config["model"] == "unet-tiny" and config["class_cond"]
    sample = ["sample", "--run", str(run), "--num-steps", "3", "--device", "cpu"]
    assert main([*sample, "--seeds", "0-5", "--class-label", "cycle", "--out", str(tmp_path / "g.png")]) == 0
    with Image.open(tmp_path / "g.png") as grid:
        # 6 images of 8x8, enlarged 4x to 32x32, 3 per row, 2-pixel padding (torchvision.utils.make_grid)
        assert grid.size == (3 * 32 + 4 * 2, 2 * 32 + 3 * 2)  # (width, height)
    assert main([*sample, "--seeds", "0-3", "--out", str(tmp_path / "s.npz")]) == 0
    samples = __import__("numpy").load(tmp_path / "s.npz")["samples"]
    assert samples.shape == (4, 1, 8, 8)
    capsys.readouterr()
    assert main([*sample, "--seeds", "0", "--class-label", "12", "--out", str(tmp_path / "x.pt")]) == 2
    assert "--class-label must lie in 0..9" in capsys.readouterr().err
    assert load_run(run, device="cpu").model.label_dim == 10

    # evaluate samples a class-conditional run class by class (seed mod 10) unless told otherwise
    import scoreaug_lab.sampling as sampling
    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("labels"))
        return real_sample(*args, **kwargs)

    real_sample = sampling.sample
    monkeypatch.setattr(sampling, "sample", spy)
    for extra, expected in (([], "cycle"), (["--class-label", "3"], "3"), (["--class-label", "none"], None)):
        capsys.readouterr()
        assert main(["evaluate", "--run", str(run), "--n-samples", "12", "--seed", "5", "--num-steps", "2",
                     "--n-per-band", "4", "--n-equivariance", "2", "--fid", "none", "--device", "cpu", *extra]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["sampling_labels"] == (expected or "none (unconditional)")
    assert seen[0].tolist() == [s % 10 for s in range(5, 17)]
    assert seen[1].tolist() == [3] * 12 and seen[2] is None


def test_image_grid_layout():
    from scoreaug_lab.plotting import image_grid
    images = torch.linspace(-1, 1, 5 * 3 * 32 * 32).reshape(5, 3, 32, 32)
    grid = image_grid(images, nrow=5, padding=2)
    assert grid.shape == (3, 32 + 4, 5 * 32 + 6 * 2)
    # the first image sits after the padding, mapped from [-1, 1] to [0, 1]
    assert (grid[:, 2:34, 2:34] - (images[0] + 1) / 2).abs().max() < 1e-6
    with pytest.raises(ValueError, match="an image grid needs"):
        image_grid(torch.zeros(2, 2, 8, 8))
