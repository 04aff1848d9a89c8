"""Command line: help, one-line errors with exit code 2, and a small train -> sample -> evaluate run."""
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


def test_model_options_parse_numbers_tuples_and_flags():
    from scoreaug_lab.cli import _key_values
    assert _key_values(["width=64", "dropout=0.1", "channel_mult=1,2,2", "mid_attention=false", "act=silu"]) == {
        "width": 64, "dropout": 0.1, "channel_mult": (1, 2, 2), "mid_attention": False, "act": "silu"}
