"""lab.memorisation_curve: points, curve and loss lines, against metrics.memorisation and the metric log."""
import torch

from scoreaug_lab.evaluate.metrics import memorisation
from scoreaug_lab.lab.memorisation_curve import (MemorisationCurve, memorisation_point, oracle_draws, run_loss_lines,
                                                 stored_data)
from scoreaug_lab.runs.store import RunStore


def test_memorisation_point_curve_and_loss_lines(tmp_path):
    store = RunStore(tmp_path)
    data = stored_data(store, "toy:gmm8", 16)
    assert stored_data(store, "toy:gmm8", 16) is data and len(data.heldout) == 1000
    samples = data.train[torch.arange(40) % 16] + 1e-4                      # copies of training points
    point = memorisation_point(store, samples, ("copies",), data, ("split",))
    assert point.memorised_fraction == 1.0
    assert point.fresh_memorised_fraction == memorisation(data.heldout[:40], data.train)["memorised_fraction"]
    curve = MemorisationCurve()
    curve.add(("g",), 32, point)
    curve.add(("g",), 8, point)
    assert curve.sizes(("g",)) == [8, 32] and curve.as_dict(("g",)) == {8: 1.0, 32: 1.0}
    metrics = [{"step": 1}, {"step": 2, "eval": [{"train": 1.0, "heldout": 2.0}]}]
    lines = run_loss_lines(metrics, 0)
    assert (lines.steps, lines.train, lines.heldout, lines.gap) == ([2], [1.0], [2.0], 1.0)
    assert run_loss_lines([], 0).gap is None
    assert oracle_draws(8) == 16 and oracle_draws(4096) == 4
