"""The demo runs end to end (at a tiny budget) and reports every variant with its spread."""
import json

import pytest
import torch

from scoreaug_lab.course.demo import run_demo
from scoreaug_lab.data import load_data
from scoreaug_lab.evaluate.metrics import memorisation, sliced_wasserstein


@pytest.mark.slow
def test_demo_small(tmp_path):
    result = run_demo(tmp_path / "demo", seeds=(0, 1), steps=60, n_samples=64, workers=1)
    assert set(result["summary"]) == {"noaug", "scoreaug"}
    assert "fresh data" in result["table"] and "+-" in result["table"]
    saved = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert len(saved["runs"]) == 4
    # every number is the library's measure of what the demo saved: samples of each run, fresh held-out points
    data = load_data("toy:gmm8", 64, n_heldout=64)
    heldout = load_data("toy:gmm8", 64).heldout       # the runs' own held-out set (2,000 points)
    assert saved["fresh_data"] == memorisation(data.heldout, data.train)
    for row in saved["runs"]:
        samples = torch.load(tmp_path / "demo" / f"{row['variant']}_seed{row['seed']}" / "samples.pt", weights_only=True)
        assert row["memorised_fraction"] == memorisation(samples, data.train)["memorised_fraction"]
        assert row["sliced_wasserstein"] == sliced_wasserstein(samples, heldout)
    assert (tmp_path / "demo" / "demo.png").stat().st_size > 10_000
