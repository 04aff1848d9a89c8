"""course.demo: notebook 00's recipe through the run store; every number is the library's measure of it."""
import json

import pytest

from scoreaug_lab.course.demo import demo_configs, run_demo
from scoreaug_lab.course.lessons import Quickstart
from scoreaug_lab.data import load_data
from scoreaug_lab.evaluate.metrics import memorisation, sliced_wasserstein
from scoreaug_lab.runs.store import get_store


def test_the_demo_is_notebook_00s_recipe():
    lesson = Quickstart("teach")
    assert demo_configs([0])[("scoreaug", 0)] == lesson.runs()["scoreaug"]
    assert {k: c.seed for k, c in demo_configs([3, 4], steps=10).items()} == {
        ("noaug", 3): 3, ("scoreaug", 3): 3, ("noaug", 4): 4, ("scoreaug", 4): 4}


@pytest.mark.slow
@pytest.mark.process
def test_demo_small(tmp_path):
    result = run_demo(tmp_path / "demo", seeds=(0, 1), steps=60, n_samples=64, workers=1, root=tmp_path / "store")
    assert set(result["summary"]) == {"noaug", "scoreaug"}
    assert "fresh data" in result["table"] and "+-" in result["table"]
    saved = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert len(saved["runs"]) == 4
    # every number is the library's measure of what the demo saved: samples of each run, fresh held-out points
    data = load_data("toy:gmm8", 64, n_heldout=64)
    heldout = load_data("toy:gmm8", 64).heldout       # the runs' own held-out set (2,000 points)
    assert saved["fresh_data"] == memorisation(data.heldout, data.train)
    store = get_store(tmp_path / "store")
    for row in saved["runs"]:
        samples = store.samples(store.get(demo_configs([row["seed"]], steps=60)[row["variant"], row["seed"]]), 64)
        assert row["memorised_fraction"] == memorisation(samples, data.train)["memorised_fraction"]
        assert row["sliced_wasserstein"] == sliced_wasserstein(samples, heldout)
    assert (tmp_path / "demo" / "demo.png").stat().st_size > 10_000
    again = run_demo(tmp_path / "demo", seeds=(0, 1), steps=60, n_samples=64, workers=1, root=tmp_path / "store")
    assert again["table"] == result["table"]                       # a rerun trains nothing and says the same
