"""Bad input on the command line: every case ends in one line on stderr and exit code 2 (1 for a failure of the
machine), and nothing is trained, written or lost. Part of the reliability suite (with
test_reliability_runs.py and test_reliability_api.py); README's "What the toolkit guarantees" names them."""
import json
import os
from pathlib import Path

import pytest
import torch

from scoreaug_lab.cli import main

TINY = ["--n-train", "16", "--n-heldout", "32", "--batch-size", "8", "--no-progress", "--model-opt", "width=16",
        "--model-opt", "depth=1", "--model-opt", "fourier_features=4"]


def one_line_error(capsys, code, argv, expected):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scoreaug-lab: error:"), err
    assert expected in err, err
    return err


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rel") / "run"
    assert main(["train", *TINY, "--steps", "6", "--variant", "scoreaug", "--out", str(out)]) == 0
    return out


# --- train: every numeric option and transform parameter is checked where it enters (nothing is trained) ---------
TRAIN_CASES = [
    (["--sigma-data", "nan"], "sigma_data"), (["--sigma-data", "0"], "sigma_data"), (["--lr", "1e30"], "lr must"),
    (["--lr", "nan"], "lr must"), (["--lr", "0"], "lr must"), (["--aug-prob", "1.5"], "aug_prob"),
    (["--ema-decay", "1"], "ema_decay"), (["--grad-clip", "inf"], "grad_clip"), (["--weight-decay", "-1"], "weight_decay"),
    (["--transforms", "scale:max_log=nan"], "max_log"), (["--transforms", "rotate:max_angle=inf"], "max_angle"),
    (["--transforms", ""], "no transforms"), (["--transforms", "rot90:k=2"], "bad options for transform"),
    (["--seed", "4294967296"], "seed must be in"), (["--seed", "-1"], "seed must be in"),
    (["--data-seed", "99999999999"], "data_seed"), (["--device", "tpu"], "device"),
    (["--model-opt", "width=-4"], "width"), (["--model-opt", "depth=0"], "depth"),
    (["--eval-every", "10", "--n-heldout", "0"], "n_heldout"), (["--n-train", "1000000000"], "n-train"),
    (["--batch-size", "1000000000"], "would need"), (["--steps", "0"], "steps"),
    (["--batch-size", "10", "--grad-accum", "3"], "divisible"), (["--label-dropout", "0.5"], "class_cond"),
    (["--variant", "combined", "--clean-aug-prob", "nan"], "clean_aug_prob"), (["--data", "mnist"], "unknown data"),
    (["--variant", "sideways"], "invalid choice"), (["--model", "resnet"], "unknown model"),
    (["--data", "digits", "--n-train", "5000"], "only 1497 are available"),
]


@pytest.mark.parametrize("extra,expected", TRAIN_CASES, ids=[" ".join(c[0]) or "empty" for c in TRAIN_CASES])
def test_train_refuses_bad_options(tmp_path, capsys, extra, expected):
    out = tmp_path / "r"
    # later options win: the case's own values replace TINY's
    one_line_error(capsys, 2, ["train", *TINY, "--steps", "3", *extra, "--out", str(out)], expected)
    assert not (out / "checkpoint.pt").exists()


@pytest.mark.parametrize("where", ["empty", "a file", "under a file"])
def test_train_refuses_an_unusable_run_folder(tmp_path, capsys, where):
    (tmp_path / "f").write_text("x")
    out = {"empty": "", "a file": str(tmp_path / "f"), "under a file": str(tmp_path / "f" / "run")}[where]
    one_line_error(capsys, 2, ["train", *TINY, "--steps", "3", "--out", out], "non-empty" if where == "empty" else "is a file")


# --- sample and evaluate ------------------------------------------------------------------------------------------
SAMPLE_CASES = [
    (["--seeds", "0-3,5-1"], "end comes before"), (["--seeds", "0-999999999"], "more than"),
    (["--seeds", "-1"], "bad seed list"), (["--seeds", "4294967296"], "seed must be in"),
    (["--churn", "nan"], "churn"), (["--rho", "nan"], "rho"), (["--sigma-min", "0"], "sigma_min"),
    (["--sigma-max", "inf"], "sigma_max"), (["--num-steps", "0"], "num_steps"),
]


@pytest.mark.parametrize("extra,expected", SAMPLE_CASES, ids=[" ".join(c[0]) for c in SAMPLE_CASES])
def test_sample_refuses_bad_options(run, tmp_path, capsys, extra, expected):
    out = tmp_path / "s.npz"
    one_line_error(capsys, 2, ["sample", "--run", str(run), "--seeds", "0-3", *extra, "--out", str(out)], expected)
    assert not out.exists()


def test_sample_refuses_a_directory_and_never_writes_nan(run, tmp_path, capsys):
    one_line_error(capsys, 2, ["sample", "--run", str(run), "--out", str(tmp_path)], "is a directory")
    # a checkpoint whose weights are NaN (a diverged or corrupt run): no file, exit 2
    broken = tmp_path / "broken"
    broken.mkdir()
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    ckpt["ema"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in ckpt["ema"].items()}
    torch.save(ckpt, broken / "checkpoint.pt")
    (broken / "config.json").write_text((run / "config.json").read_text())
    one_line_error(capsys, 2, ["sample", "--run", str(broken), "--seeds", "0-9", "--out", str(tmp_path / "s.npz")],
                   "returned NaN or infinite values")
    assert not (tmp_path / "s.npz").exists() and not list(tmp_path.glob(".s*"))


def test_sample_streams_chunks_that_equal_one_batch(run, tmp_path, capsys):
    import numpy as np

    from scoreaug_lab.runs.folder import load_run
    from scoreaug_lab.evaluate.sample_io import iter_samples
    from scoreaug_lab.sampling import sample
    assert main(["sample", "--run", str(run), "--seeds", "0-2499", "--num-steps", "4", "--out", str(tmp_path / "s.npz")]) == 0
    streamed = np.load(tmp_path / "s.npz")["samples"]
    model = load_run(run, "cpu").model
    assert streamed.shape == (2500, 2)
    # the network sees batches of another size (1,024 against 76): equal to rounding, not bit for bit on every CPU
    direct = sample(model, (2,), range(1024, 1100), num_steps=4).numpy()
    assert np.allclose(streamed[1024:1100], direct, rtol=0, atol=1e-5)
    assert [len(seeds) for seeds, _ in iter_samples(model, (2,), range(2500), num_steps=2)] == [1024, 1024, 452]


EVALUATE_CASES = [(["--n-per-band", "0"], "--n-per-band"), (["--n-samples", "1"], "--n-samples"),
                  (["--n-samples", "1000000000"], "--n-samples"), (["--seed", "-3"], "--seed")]


@pytest.mark.parametrize("extra,expected", EVALUATE_CASES, ids=[" ".join(c[0]) for c in EVALUATE_CASES])
def test_evaluate_refuses_bad_options(run, capsys, extra, expected):
    one_line_error(capsys, 2, ["evaluate", "--run", str(run), *extra], expected)


def test_classifier_checks_its_output_before_training(tmp_path, capsys, monkeypatch):
    import scoreaug_lab.evaluate.classifier as classifier
    monkeypatch.setattr(classifier, "train_classifier", lambda *a, **k: pytest.fail("trained before checking --out"))
    one_line_error(capsys, 2, ["classifier", "--data", "digits", "--out", str(tmp_path)], "is a directory")
    one_line_error(capsys, 2, ["classifier", "--data", "digits", "--out", str(tmp_path / "c.txt")], "unknown file type")
    one_line_error(capsys, 2, ["classifier", "--data", "digits", "--epochs", "0", "--out", str(tmp_path / "c.pt")],
                   "--epochs")


def test_npz_without_test_images_is_refused(cifar_npz, tmp_path, capsys):
    import numpy as np
    z = np.load(cifar_npz)
    empty = tmp_path / "no_test.npz"
    np.savez(empty, x_train=z["x_train"][:100], y_train=z["y_train"][:100], x_test=z["x_test"][:0], y_test=z["y_test"][:0])
    one_line_error(capsys, 2, ["train", "--data", f"cifar10:{empty}", "--n-train", "16", "--steps", "1", "--no-progress",
                               "--out", str(tmp_path / "r")], "held-out (test) split is empty")


def test_full_disk_during_a_checkpoint_keeps_the_previous_one(tmp_path, capsys, monkeypatch):
    import errno

    import scoreaug_lab.runs.checkpoint as checkpoint
    out = tmp_path / "r"
    real_save, calls = torch.save, []

    def save(obj, f, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *a, **k)

    monkeypatch.setattr(checkpoint.torch, "save", save)
    err = one_line_error(capsys, 1, ["train", *TINY, "--steps", "10", "--ckpt-every", "5", "--out", str(out)],
                         "the previous checkpoint is intact")
    assert "No space left" in err
    monkeypatch.setattr(checkpoint.torch, "save", real_save)
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 5 and not list(out.glob(".checkpoint.pt.*"))


def test_already_finished_run_with_fewer_steps_changes_nothing(run, capsys):
    before = (run / "config.json").read_text(), (run / "metrics.jsonl").read_text()
    assert main(["train", *TINY, "--steps", "3", "--variant", "scoreaug", "--out", str(run)]) == 0
    assert "already trained" in capsys.readouterr().out
    assert ((run / "config.json").read_text(), (run / "metrics.jsonl").read_text()) == before
    assert json.loads(before[0])["steps"] == 6 and torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 6


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("SCOREAUG_DEBUG", "1")
    with pytest.raises(ValueError, match="lr must"):
        main(["train", *TINY, "--lr", "nan", "--out", str(tmp_path / "r")])
    assert os.environ["SCOREAUG_DEBUG"] == "1" and not Path(tmp_path / "r" / "checkpoint.pt").exists()
