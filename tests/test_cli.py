"""cli (main): help, one-line errors with exit 2, and runs end to end against the library's own measures."""
import json
import shutil
import subprocess
import sys

import pytest
import torch

from scoreaug_lab.cli import build_parser, main
from scoreaug_lab.evaluate.metrics import memorisation
from scoreaug_lab.runs.folder import load_run
from scoreaug_lab.sampling import sample as sample_draw

TINY = ["--n-train", "16", "--n-heldout", "100", "--batch-size", "16", "--no-progress",
        "--model-opt", "width=16", "--model-opt", "depth=1", "--model-opt", "fourier_features=4"]


def _cli(*args):
    exe = shutil.which("scoreaug-lab") or str(__import__("pathlib").Path(sys.executable).parent / "scoreaug-lab")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.process
def test_help_documents_every_option():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices
    for name, p in sub.items():
        for action in p._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings} has no help text"
    out = _cli("train", "--help")
    assert out.returncode == 0 and "--variant" in out.stdout and "scoreaug" in out.stdout


@pytest.mark.parametrize("args,needle", [
    (["train", "--out", "x", "--steps", "ten"], "invalid int value"),
    (["train", "--out", "x", "--variant", "sideways"], "invalid choice"),
    (["train", "--out", "x", "--bogus"], "unrecognized arguments"),
    (["train", "--steps", "5"], "--out"),
    (["train", "--out", "x", "--data", "toy:spiral"], "unknown toy data set"),
    (["train", "--out", "x", "--transforms", "spin"], "unknown points transform"),
    (["train", "--out", "x", "--model-opt", "width"], "key=value"),
    (["evaluate", "--run", "/nonexistent/run"], "does not exist"),
    (["sample", "--run", "/nonexistent/run", "--out", "s.pt"], "does not exist"),
    (["sample", "--run", "r", "--out", "s.gif"], "unknown file type"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scoreaug-lab: error:") and needle in err


@pytest.mark.process
def test_console_script_error_has_no_traceback(tmp_path):
    out = _cli("evaluate", "--run", str(tmp_path / "missing"))
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1


def test_train_sample_evaluate(tmp_path, capsys):
    run = tmp_path / "run"
    opts = ["--variant", "scoreaug", "--transforms", "rot90,flip", "--seed", "0", "--out", str(run), *TINY]
    assert main(["train", "--steps", "30", *opts]) == 0
    assert main(["train", "--steps", "30", *opts]) == 0  # already done: resumes to 30
    assert "already trained" in capsys.readouterr().out
    # resuming with another set-up is refused in one line
    assert main(["train", "--steps", "40", "--out", str(run), *TINY]) == 2
    assert "different run: variant='scoreaug' (now 'noaug')" in capsys.readouterr().err
    assert main(["sample", "--run", str(run), "--seeds", "0-9", "--out", str(tmp_path / "s.pt")]) == 0
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (10, 2) and torch.isfinite(samples).all()
    assert main(["sample", "--run", str(run), "--seeds", "0-9", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 1000
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run), "--n-samples", "50", "--n-per-band", "32", "--num-steps", "8"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["variant"] == "scoreaug" and result["n_samples"] == 50 and result["step"] == 30
    # the reported memorisation is the library's, on the same samples (seeds 0-49) and training points
    samples50 = load_run(run, device="cpu")
    again = sample_draw(samples50.model, (2,), range(50), num_steps=8)
    assert result["memorisation"] == memorisation(again, samples50.setup.data.train)
    assert len(result["loss_by_band"]) == 5 and "vs_true" in result["oracle_error_by_band"][0]
    assert json.loads((run / "eval.json").read_text())["n_samples"] == 50
    # the same seeds give the same samples
    main(["sample", "--run", str(run), "--seeds", "0-9", "--out", str(tmp_path / "t.pt")])
    assert torch.equal(samples, torch.load(tmp_path / "t.pt", weights_only=True))


def test_cli_classifier_then_evaluate_an_image_run(tmp_path, capsys, monkeypatch):
    from scoreaug_lab.cli import main
    monkeypatch.setenv("SCOREAUG_INCEPTION_WEIGHTS", str(tmp_path / "absent.pth"))
    clf, run = tmp_path / "clf.pt", tmp_path / "run"
    assert main(["classifier", "--data", "digits:8", "--epochs", "1", "--width", "4", "--feature-dim", "8",
                 "--out", str(clf), "--device", "cpu"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_train"] == 1497 and info["n_test"] == 300
    # the reported accuracy is the saved classifier's on the held-out images, counted here again
    from scoreaug_lab.evaluate.classifier import load_classifier, load_labelled_images
    net, _ = load_classifier(clf)
    _, _, test_x, test_y = load_labelled_images("digits:8", None, seed=0)
    with torch.no_grad():
        counted = (net(test_x.float()).argmax(1) == test_y).double().mean().item()
    assert abs(info["test_accuracy"] - counted) < 1e-9
    assert json.loads((tmp_path / "clf.json").read_text())["feature_dim"] == 8
    assert main(["train", "--data", "digits:8", "--n-train", "40", "--n-heldout", "30", "--variant", "scoreaug",
                 "--transforms", "rot90,xflip", "--model-opt", "model_channels=8", "--steps", "2", "--batch-size", "8",
                 "--out", str(run), "--no-progress", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run), "--n-samples", "6", "--num-steps", "2", "--n-per-band", "4",
                 "--n-equivariance", "2", "--classifier", str(clf), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)                                    # exactly one JSON object on stdout
    assert out["variant"] == "scoreaug" and set(out["equivariance_error"]) == {"rot90", "xflip"}
    assert out["fid_inception"] is None and "Inception FID unavailable" in captured.err
    assert out["fid_proxy_classifier"]["feature_dim"] == 8 and (run / "samples_grid.png").is_file()
    assert json.loads((run / "eval.json").read_text()) == out
    assert main(["evaluate", "--run", str(run), "--n-samples", "4", "--num-steps", "2", "--n-per-band", "4",
                 "--n-equivariance", "2", "--fid", "none", "--equivariance-transforms", "yflip"]) == 2
    assert "run's own transforms" in capsys.readouterr().err


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
