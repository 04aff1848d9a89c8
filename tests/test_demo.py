"""The demo runs end to end (at a tiny budget) and reports every variant with its spread."""
import json

import pytest

from scoreaug_lab.demo import run_demo


@pytest.mark.slow
def test_demo_small(tmp_path):
    result = run_demo(tmp_path / "demo", seeds=(0, 1), steps=60, n_samples=64, workers=1)
    assert set(result["summary"]) == {"noaug", "scoreaug"}
    assert "fresh data" in result["table"] and "+-" in result["table"]
    saved = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert len(saved["runs"]) == 4 and 0 <= saved["fresh_data"]["memorised_fraction"] <= 1
    assert (tmp_path / "demo" / "demo.png").stat().st_size > 10_000
