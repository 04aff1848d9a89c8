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


# --- issue 21: prepare, reproduce and data: one line, exit 2 (1 for the machine), nothing lost ----------------------
PREPARE_CASES = [(["4.5"], "unknown notebook '4.5'; choose from 00"), (["7.py"], "unknown notebook '7.py'; choose from 00"),
                 (["--runs", ""], "--runs must be a non-empty path"), (["04", "--runs", "FILE"], "is a file"),
                 (["04", "--runs", "FILE/store"], "is a file")]


@pytest.mark.parametrize("extra,expected", PREPARE_CASES, ids=[" ".join(c[0]) or "empty" for c in PREPARE_CASES])
def test_prepare_refuses_bad_arguments_before_any_work(tmp_path, capsys, monkeypatch, extra, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("mine\n")
    one_line_error(capsys, 2, ["prepare", "--size", "test", "--no-progress", *extra], expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"] and (tmp_path / "FILE").read_text() == "mine\n"


def test_prepare_names_a_bad_workers_variable_and_a_forbidden_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCOREAUG_WORKERS", "abc")
    one_line_error(capsys, 2, ["prepare", "04", "--size", "test", "--no-progress", "--runs", str(tmp_path / "s")],
                   "$SCOREAUG_WORKERS must be a whole number")
    monkeypatch.delenv("SCOREAUG_WORKERS")
    monkeypatch.setenv("SCOREAUG_FORBID_TRAINING", "1")     # TrainingForbidden (a RuntimeError): a line, exit 2
    one_line_error(capsys, 2, ["prepare", "07", "--size", "test", "--no-progress", "--runs", str(tmp_path / "s")],
                   "SCOREAUG_FORBID_TRAINING is set")
    assert not list((tmp_path / "s").glob("*/checkpoint.pt"))


@pytest.mark.parametrize("where", ["a user's folder", "empty", "a file", "under a file", "a user's --publish"])
def test_reproduce_refuses_an_output_folder_it_did_not_write(tmp_path, capsys, where):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my notes\n")
    (mine / "results.json").write_text("[1, 2]\n")
    out = {"a user's folder": str(mine), "empty": "", "a file": str(mine / "report.md"),
           "under a file": str(mine / "report.md" / "out"), "a user's --publish": str(tmp_path / "new")}[where]
    extra = ["--publish", str(mine)] if where == "a user's --publish" else []
    expected = {"a user's folder": "did not write", "empty": "--out must be a non-empty path", "a file": "is a file",
                "under a file": "is a file", "a user's --publish": "--publish"}[where]
    one_line_error(capsys, 2, ["reproduce", "--budget", "smoke", "--no-progress", "--out", out, *extra], expected)
    assert sorted(p.name for p in mine.iterdir()) == ["report.md", "results.json"]
    assert (mine / "report.md").read_text() == "my notes\n" and (mine / "results.json").read_text() == "[1, 2]\n"
    assert not (tmp_path / "new").exists()


def test_reproduce_accepts_its_own_outputs(tmp_path):
    from scoreaug_lab.reproduce.outdir import MARKER, check_folder, claim_folder
    for own in (MARKER, "invocations.jsonl", "provenance.json"):        # marked, older output, published record
        folder = tmp_path / own.strip(".")
        folder.mkdir()
        (folder / "report.md").write_text("an earlier report\n")
        (folder / own).write_text("{}\n")
        assert check_folder(folder) == folder
    assert (claim_folder(tmp_path / "new") / MARKER).is_file()


def test_seeds_out_of_range_name_the_option(run, tmp_path, capsys):
    big = str(2**64)
    one_line_error(capsys, 2, ["sample", "--run", str(run), "--seeds", big, "--out", str(tmp_path / "s.npz")],
                   "--seeds: a seed must be in [0, 4294967295], got " + big)
    one_line_error(capsys, 2, ["demo", "--seeds", f"0,{big}", "--out", str(tmp_path / "d")], "--seeds: a seed must be in")
    one_line_error(capsys, 2, ["reproduce", "--budget", "smoke", "--seeds", f"0-{big}", "--out", str(tmp_path / "r")],
                   "--seeds: a seed must be in")
    one_line_error(capsys, 2, ["train", *TINY, "--seed", big, "--out", str(tmp_path / "t")], "seed must be in [0, 4294967295]")
    assert not any((tmp_path / name).exists() for name in ("s.npz", "d", "r", "t"))


def test_data_subset_checks_its_output_before_reading_cifar10(tmp_path, capsys, monkeypatch):
    import scoreaug_lab.data.subset as subset
    monkeypatch.setattr(subset, "read_cifar10_torchvision", lambda *a, **k: pytest.fail("read CIFAR-10 first"))
    (tmp_path / "f").write_text("mine\n")
    one_line_error(capsys, 2, ["data", "cifar10-subset", "--out", str(tmp_path / "f" / "c.npz")], "f is a file")
    assert (tmp_path / "f").read_text() == "mine\n"


@pytest.mark.parametrize("name", ["metrics.jsonl", ".lock"])
def test_train_refuses_a_run_folder_whose_files_are_folders(tmp_path, capsys, name):
    out = tmp_path / "r"
    (out / name).mkdir(parents=True)
    (out / name / "keep.txt").write_text("mine\n")
    one_line_error(capsys, 2, ["train", *TINY, "--steps", "3", "--out", str(out)], f"{name} is a directory")
    assert (out / name / "keep.txt").read_text() == "mine\n" and not (out / "checkpoint.pt").exists()


def test_a_finished_run_with_a_metric_log_that_is_not_text_is_named(run, tmp_path, capsys):
    import shutil
    broken = tmp_path / "run"
    shutil.copytree(run, broken)
    (broken / "metrics.jsonl").write_bytes(b'{"step": 2}\n\xff\xfe\x00garbage\n')
    one_line_error(capsys, 2, ["sample", "--run", str(broken), "--seeds", "0-3", "--out", str(tmp_path / "s.npz")],
                   f"{broken / 'metrics.jsonl'} is not a metric log")
    assert not (tmp_path / "s.npz").exists()


# --- issue 21: failures inside training workers reach the terminal as one line (real disks, real signals) ---------
PREPARE = ["prepare", "04", "--size", "test", "--workers", "2", "--no-progress", "--runs"]


def cli_process(argv, **kw):
    import subprocess
    import sys
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("SCOREAUG_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "scoreaug_lab.cli", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


def ends_in_one_line(err: str, expected: str) -> None:
    """The command's last line is its one error line, and no traceback came before it (the progress lines of
    `prepare` may)."""
    assert "Traceback" not in err and err.count("scoreaug-lab: error:") == 1, err
    assert err.strip().splitlines()[-1].startswith("scoreaug-lab: error:") and expected in err, err


def checkpoints_intact(store: Path) -> None:
    """Every checkpoint the failure left behind loads, and no temporary file is left."""
    from scoreaug_lab.runs.checkpoint import check_run_checkpoint, load_checkpoint
    for path in store.glob("*/checkpoint.pt"):
        check_run_checkpoint(load_checkpoint(path), path)
    assert not list(store.glob("*/.checkpoint.pt.*.tmp"))


@pytest.mark.process
@pytest.mark.parametrize("disk", ["full", "read-only"])
def test_prepare_on_a_full_or_read_only_disk_is_one_line(tmp_path, disk):
    from support import mount_tmpfs
    with mount_tmpfs(tmp_path / "mnt", "300k" if disk == "full" else "64k", read_only=disk == "read-only") as mnt:
        proc = cli_process([*PREPARE, str(mnt / "store")])
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, err
        ends_in_one_line(err, "No space left on device" if disk == "full" else "Read-only file system")
        checkpoints_intact(mnt / "store")


def pool_workers(pid: int) -> list[int]:
    """The PIDs of a process's spawned pool workers (not its resource tracker)."""
    pids = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                pids.append(int(child))
        except OSError:
            continue
    return pids


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.parametrize("how", ["a worker killed", "ctrl-c"])
def test_prepare_interrupted_or_losing_a_worker_says_so_and_resumes(tmp_path, how):
    import signal
    import time
    store = tmp_path / "store"
    proc = cli_process([*PREPARE, str(store)], start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (list(store.glob("*/metrics.jsonl")) and pool_workers(proc.pid)):
        time.sleep(0.05)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)          # the terminal's Ctrl-C reaches the whole group
    else:
        os.kill(pool_workers(proc.pid)[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    if how == "ctrl-c":
        assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    else:
        assert proc.returncode == 1, err
        ends_in_one_line(err, "terminated abruptly")
    checkpoints_intact(store)
    again = cli_process([*PREPARE, str(store)])      # a rerun resumes and finishes
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0 and "9 runs ready" in out, err
