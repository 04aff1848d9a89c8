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


def test_loss_lines_read_the_asked_band_and_no_other():
    import pytest
    metrics = [{"step": s, "eval": [{"train": 10 * b + s, "heldout": 10 * b + s + 0.5} for b in range(3)]}
               for s in (1, 2)] + [{"step": 3, "loss": 1.0}]
    lines = run_loss_lines(metrics, 2)
    assert lines.steps == [1, 2] and lines.train == [21, 22] and lines.heldout == [21.5, 22.5]
    assert lines.gap == 0.5 and run_loss_lines(metrics, 0).train == [1, 2]
    for band in (3, -1):                        # not the last band, not an error of another kind
        with pytest.raises(ValueError, match=r"band \(a sigma band\) must be in \[0, 2\]"):
            run_loss_lines(metrics, band)
    assert run_loss_lines([{"step": 1, "loss": 1.0}], 5).steps == []              # no eval lines: nothing to read
