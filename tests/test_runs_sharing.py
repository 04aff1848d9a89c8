"""A class store: modes set by the toolkit (not the umask) while a run trains and once it is finished; across real Unix
users (root only): a run another student started and a culled kernel left is resumed, nobody deletes another's run."""
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from scoreaug_lab.runs import sharing
from scoreaug_lab.runs.checkpoint import atomic_save
from scoreaug_lab.runs.store import RunStore
from scoreaug_lab.train.config import TrainConfig

TINY = dict(data="toy:gmm8", n_train=32, n_heldout=32, steps=6, batch_size=16, log_every=2, ckpt_every=2,
            progress=False, variant="noaug", model_kwargs={"width": 8, "depth": 1, "fourier_features": 2})


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_follow_the_umask_outside_a_class_store(tmp_path):
    atomic_save({"a": 1}, tmp_path / "x.pt")
    assert mode(tmp_path / "x.pt") == 0o666 & ~sharing.umask()   # not tempfile's 0600
    assert not sharing.is_shared(tmp_path)


def test_a_run_is_writable_by_the_class_while_it_trains_and_read_only_once_finished(tmp_path):
    root = sharing.share_store(tmp_path / "store", os.getgid())
    assert mode(root) == 0o3775 and sharing.is_shared(root)
    store = RunStore(root)
    config = TrainConfig(**TINY)
    seen = []

    def during(step, total):
        folder = store.folder(config)
        if step < total and (folder / "checkpoint.pt").is_file():
            seen.append((mode(folder), mode(folder / ".lock"), mode(folder / "metrics.jsonl"),
                         mode(folder / "checkpoint.pt")))

    store.get(config, progress=during)
    assert seen and all(m == (0o2775, 0o664, 0o664, 0o664) for m in seen)
    folder = store.folder(config)
    assert mode(folder) == 0o2755
    assert {mode(p) for p in folder.iterdir()} == {0o644}
    assert {os.stat(p).st_gid for p in [folder, *folder.iterdir()]} == {os.getgid()}


def test_sharing_a_store_seals_the_runs_already_in_it(tmp_path):
    store = RunStore(tmp_path / "store")
    store.get(TrainConfig(**TINY))
    root = sharing.share_store(tmp_path / "store", os.getgid())
    folder = store.folder(TrainConfig(**TINY))
    assert mode(folder) == 0o2755 and {mode(p) for p in folder.iterdir()} == {0o644}
    assert mode(root) == 0o3775


def test_seal_store_hands_finished_runs_to_the_owner_and_leaves_unfinished_ones(tmp_path):
    root = sharing.share_store(tmp_path / "store", os.getgid())
    done, half = root / "done", root / "half"
    for folder in (done, half):
        folder.mkdir()
        os.chmod(folder, 0o2775)
        (folder / "checkpoint.pt").write_text("x")
        os.chmod(folder / "checkpoint.pt", 0o664)
    changed = sharing.seal_store(root, lambda f: f.name == "done", os.getuid(), os.getgid())
    assert changed == [done]
    assert mode(done) == 0o2755 and mode(done / "checkpoint.pt") == 0o644
    assert mode(half) == 0o2775 and mode(half / "checkpoint.pt") == 0o664
    assert sharing.seal_store(root, lambda f: True, os.getuid(), os.getgid()) == [half]
    assert sharing.seal_store(root, lambda f: True, os.getuid(), os.getgid()) == []


# --- across real users ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def student_env(tmp_path_factory):
    """The Python the class's users run (course/hub_env.py): the toolkit's wheel, the project's libraries."""
    from scoreaug_lab.course.hub_env import build_student_env
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root (to create the class's Unix users) and runuser")
    folder = Path(f"/tmp/sat-env-{os.getpid()}")
    try:
        yield build_student_env(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _as_user(env, user: str, code: str, *args) -> subprocess.Popen:
    variables = {"PATH": "/usr/bin:/bin", "HOME": f"/home/{user}", "OMP_NUM_THREADS": "1", **env.variables}
    return subprocess.Popen([shutil.which("runuser"), "-u", user, "--", str(env.python), "-c", code, *args],
                            env=variables, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


TRAIN = """
import time
from scoreaug_lab.runs.store import RunStore
from scoreaug_lab.train.config import TrainConfig

def progress(step, total):
    print(step, flush=True)
    if step >= {pause}:
        time.sleep(600)          # where the kernel stays until it is culled

RunStore({root!r}).get(TrainConfig(**{config!r}), progress=progress)
print("done", flush=True)
"""


PAUSE = 100


@pytest.mark.process
def test_across_users_a_killed_kernels_run_is_resumed_and_nobody_deletes_anothers_run(student_env):
    from scoreaug_lab.course.hub_users import ClassAccounts
    with ClassAccounts(prefix=f"sat{os.getpid() % 10000}", students=2) as accounts:
        root = sharing.share_store(Path(student_env.root).parent / "store", accounts.gid, accounts.instructor.uid)
        a, b = accounts.students
        config = dict(TINY, steps=400, ckpt_every=5, log_every=5)
        first = _as_user(student_env, a.name, TRAIN.format(root=str(root), config=config, pause=PAUSE))
        for line in first.stdout:                 # a's kernel trains a while, then the hub culls it
            assert line.split()[0].isdigit(), line + first.stdout.read()
            if int(line.split()[0]) >= PAUSE:
                break
        subprocess.run(["pkill", "-KILL", "-u", a.name])      # every process of a's, as a culled server's
        first.wait()
        folder = RunStore(root).folder(TrainConfig(**config))
        assert os.stat(folder).st_uid == a.uid and mode(folder) == 0o2775
        second = _as_user(student_env, b.name, TRAIN.format(root=str(root), config=config, pause=10**9))
        out, _ = second.communicate(timeout=300)
        assert second.returncode == 0 and out.strip().endswith("done"), out
        assert int(out.split()[0]) > PAUSE        # resumed from a's checkpoint, not started again
        attack = ("import shutil, sys\ntry:\n    shutil.rmtree(sys.argv[1])\nexcept OSError as e:\n"
                  "    print('refused', type(e).__name__)\n")
        sharing.seal_store(root, lambda f: True, accounts.instructor.uid, accounts.gid)
        again = _as_user(student_env, a.name, TRAIN.format(root=str(root), config=config, pause=10**9))
        assert again.communicate(timeout=120)[0].split() == ["done"]     # read by the others, nothing trained
        for user in (a, b):
            out = _as_user(student_env, user.name, attack, str(folder)).communicate(timeout=60)[0]
            assert "refused PermissionError" in out
            assert (folder / "checkpoint.pt").is_file()
