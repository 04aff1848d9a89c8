"""evaluate/summary.py: mean ± std over seeds, the 95 % interval of a mean, and the Welch comparison of two
variants that notebooks print as sentences; oracles from scipy.stats."""
import math

import pytest
from scipy import stats

from scoreaug_lab.evaluate.summary import against_baseline, ci95, difference, fmt, mean_std

GROUPS = [([0.47, 0.42, 0.37], [0.36, 0.35, 0.37]), ([0.1, 0.2, 0.4, 0.3], [0.9, 0.8]),
          ([1.0, 2.0], [1.5, 1.6, 1.7, 1.2, 1.9])]


def test_mean_std_ci_and_fmt_match_scipy():
    values = [0.3, 0.5, 0.4, 0.9]
    m, s = mean_std(values)
    assert abs(m - 0.525) < 1e-12 and abs(s - stats.tstd(values)) < 1e-12
    low, high = ci95(values)
    ref = stats.t.interval(0.95, len(values) - 1, loc=m, scale=stats.sem(values))
    assert max(abs(low - ref[0]), abs(high - ref[1])) < 1e-12
    assert fmt(values, 2) == "0.53 ± 0.26" and fmt([0.5]) == "0.500 (1 seed)"


@pytest.mark.parametrize("a, b", GROUPS)
def test_difference_is_welchs_interval(a, b):
    d = difference(a, b)
    ref = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert abs(d.difference - (sum(b) / len(b) - sum(a) / len(a))) < 1e-12
    assert max(abs(d.low - ref.low), abs(d.high - ref.high)) < 1e-9
    assert d.separated == (ref.low > 0 or ref.high < 0)


def test_sentences_say_what_the_interval_says():
    apart = difference([0.80, 0.82, 0.84], [0.18, 0.19, 0.20])
    assert apart.separated and apart.sentence("noaug", "scoreaug", "copied").endswith("scoreaug lower than noaug")
    close = difference([0.47, 0.42, 0.37], [0.36, 0.35, 0.37])   # about two standard errors apart, three seeds
    assert not close.separated and "not separated by these seeds" in close.sentence("noaug", "scoreaug", "copied")
    one = difference([0.5], [0.4, 0.3])
    assert math.isnan(one.low) and not one.separated and "one seed" in one.sentence("a", "b", "x")
    exact = difference([0.0, 0.0], [0.0, 0.0])
    assert not exact.separated and exact.low == exact.high == 0.0
    lines = against_baseline({"noaug": [0.8, 0.82, 0.84], "clean": [0.2, 0.21, 0.19], "noisy": [0.8, 0.7, 0.9]},
                             "noaug", "copied fraction", digits=2)
    assert len(lines) == 2 and lines[0].startswith("copied fraction, clean − noaug: -0.62, 95 % interval [-0.")
    assert "separated: clean lower" in lines[0] and "not separated" in lines[1]
    small = difference([0.0010, 0.0011], [0.0030, 0.0031]).sentence("noaug", "scoreaug", "gap")
    assert small.startswith("gap, scoreaug − noaug: +0.002, 95 % interval [+0.00") and "[+0.000," not in small
