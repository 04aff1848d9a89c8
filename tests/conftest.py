import os

import pytest
import torch

from scoreaug_lab.data.images import SHARED_CIFAR_NPZ, local_cifar_npz


# Tests run two at a time (pytest -n 2) on small machines: one thread per worker keeps them fair.
torch.set_num_threads(1)


@pytest.fixture
def cifar_npz():
    """Path to the local CIFAR-10 subset; the test is skipped cleanly when the file is absent."""
    path = local_cifar_npz()
    if path is None:
        where = os.environ.get("SCOREAUG_CIFAR_NPZ") or SHARED_CIFAR_NPZ
        pytest.skip(f"local CIFAR-10 subset not found at {where} (set SCOREAUG_CIFAR_NPZ)")
    return path


@pytest.fixture(scope="session")
def sandbox():
    """The grading sandbox: skipped with its reason where bwrap cannot run here, a failure instead under
    SCOREAUG_REQUIRE_SANDBOX=1 (CI installs bubblewrap and must test with it)."""
    from scoreaug_lab.course.sandbox import unavailable_reason

    reason = unavailable_reason()
    if reason and os.environ.get("SCOREAUG_REQUIRE_SANDBOX"):
        pytest.fail(f"the sandbox is required here (SCOREAUG_REQUIRE_SANDBOX=1): {reason}")
    if reason:
        pytest.skip(reason)


OUT_OF_PROCESS = ("process", "slow", "browser", "sandbox")


@pytest.fixture(autouse=True)
def _in_process_only(request, monkeypatch):
    """Under SCOREAUG_IN_PROCESS=1 (`make test-fast`), a test without one of the markers above that starts a
    process (a subprocess, a spawned worker, a kernel) fails instead: the markers stay true."""
    if not os.environ.get("SCOREAUG_IN_PROCESS") or any(request.node.get_closest_marker(m) for m in OUT_OF_PROCESS):
        return
    import multiprocessing.process
    import subprocess

    def refuse(*args, **kwargs):
        raise AssertionError(f"{request.node.nodeid} starts a process: mark it @pytest.mark.process")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)


# --- the transform explorers, shared by the widget tests (one of each per test module) --------------------
@pytest.fixture(scope="module")
def explorer():
    """Small and offline: 8x8 digits, no CIFAR-10, a small oracle training set."""
    from scoreaug_lab.widgets import ImageTransformExplorer

    return ImageTransformExplorer(data="digits", digits_size=8, cifar_path=False, n_train=24)


@pytest.fixture(scope="module")
def points():
    from scoreaug_lab.widgets import PointTransformExplorer

    return PointTransformExplorer(n_points=64)
