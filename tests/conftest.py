import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
CIFAR_NPZ = ROOT.parent / "shared" / "data" / "cifar10_subset.npz"

# Tests run two at a time (pytest -n 2) on small machines: one thread per worker keeps them fair.
torch.set_num_threads(1)


@pytest.fixture
def cifar_npz():
    """Path to the local CIFAR-10 subset; the test is skipped cleanly when the file is absent."""
    path = Path(os.environ.get("SCOREAUG_CIFAR_NPZ", CIFAR_NPZ))
    if not path.is_file():
        pytest.skip(f"local CIFAR-10 subset not found at {path} (set SCOREAUG_CIFAR_NPZ)")
    return path
