"""widgets.arrows: arrow segments clipped to their maximum length, zero vectors dropped."""
import numpy as np

from scoreaug_lab.widgets.arrows import arrow_segments


def test_arrow_segments():
    x, y = arrow_segments(np.zeros((3, 2)), np.array([[1.0, 0], [0, 0], [0, 5.0]]), max_length=0.1, reference=1.0)
    assert len(x) == 2 * 7                                                            # the zero vector is dropped
    assert abs(x[1] - 0.1) < 1e-12 and abs(y[8] - 0.1) < 1e-12                      # clipped to max_length
    assert np.isnan(x[2]) and np.isnan(x[6])
