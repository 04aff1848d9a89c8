"""reproduce.verdicts: intervals and comparisons against scipy and hand-computed cases; the verdict rule."""
import math

import numpy as np
import pytest
from scipy import stats

from scoreaug_lab.reproduce.verdicts import (cohens_dz, combine, compare, interval, one_sample, paired_differences,
                                             verdict)

T975_2 = 4.302652729749464      # t_{0.975, 2}, tabulated (3 seeds)


@pytest.mark.parametrize("n", [2, 3, 5, 12])
def test_interval_matches_scipy_t_interval(n):
    values = np.random.default_rng(n).normal(0.3, 1.7, n)
    got = interval(values)
    lo, hi = stats.t.interval(0.95, n - 1, loc=values.mean(), scale=stats.sem(values))
    assert abs(got["ci_low"] - lo) < 1e-12 and abs(got["ci_high"] - hi) < 1e-12
    assert abs(got["std"] - values.std(ddof=1)) < 1e-12 and got["n"] == n


def test_paired_comparison_matches_scipy_ttest_rel():
    rng = np.random.default_rng(0)
    base = rng.normal(1.0, 0.2, 5)
    treat = base - 0.3 + rng.normal(0, 0.05, 5)
    result = compare(dict(enumerate(base)), dict(enumerate(treat)), "lower")
    ci = stats.ttest_rel(treat, base).confidence_interval(0.95)
    assert abs(result["difference"]["ci_low"] - ci.low) < 1e-12 and abs(result["difference"]["ci_high"] - ci.high) < 1e-12
    d = treat - base
    assert abs(result["cohens_dz"] - d.mean() / d.std(ddof=1)) < 1e-12
    assert result["verdict"] == "reproduced"


def test_one_sample_matches_scipy_ttest_1samp():
    values = {0: 0.12, 1: 0.30, 2: 0.21, 3: 0.18}
    got = one_sample(values, "higher", reference=0.1)
    ci = stats.ttest_1samp(list(values.values()), 0.1).confidence_interval(0.95)
    assert abs(got["difference"]["ci_low"] + 0.1 - ci.low) < 1e-12
    assert abs(got["difference"]["ci_high"] + 0.1 - ci.high) < 1e-12


def test_hand_computed_three_seed_cases():
    # d = (1, 2, 3): mean 2, sd 1, interval 2 -+ t_{0.975,2} / sqrt(3) = [-0.484, 4.484]: contains 0
    r = compare({0: 0.0, 1: 0.0, 2: 0.0}, {0: 1.0, 1: 2.0, 2: 3.0}, "higher")
    half = T975_2 / math.sqrt(3)
    assert abs(r["difference"]["ci_low"] - (2 - half)) < 1e-12 and abs(r["difference"]["ci_high"] - (2 + half)) < 1e-12
    assert r["verdict"] == "inconclusive" and abs(r["cohens_dz"] - 2.0) < 1e-12
    # d = (2, 3, 4): [0.516, 5.484]: excludes 0 above
    up = {0: 2.0, 1: 3.0, 2: 4.0}
    zero = {0: 0.0, 1: 0.0, 2: 0.0}
    assert compare(zero, up, "higher")["verdict"] == "reproduced"
    assert compare(zero, up, "lower")["verdict"] == "contradicted"
    assert compare(up, zero, "lower")["verdict"] == "reproduced"
    assert abs(compare(zero, up, "higher")["relative"]) != math.inf   # baseline 0: relative is nan, not an error


def test_verdict_rule_edges():
    assert verdict(0.1, 0.5, "higher") == "reproduced"
    assert verdict(-0.5, -0.1, "higher") == "contradicted"
    assert verdict(-0.5, -0.1, "lower") == "reproduced"
    assert verdict(0.0, 0.5, "higher") == "inconclusive"       # touching 0 does not exclude it
    assert verdict(-0.2, 0.3, "lower") == "inconclusive"
    assert verdict(math.nan, math.nan, "lower") == "inconclusive"
    with pytest.raises(ValueError, match="expect"):
        compare({0: 1.0}, {0: 2.0}, "better")


def test_degenerate_samples():
    one = compare({0: 1.0}, {0: 2.0}, "higher")                   # one seed: no interval
    assert one["verdict"] == "inconclusive" and math.isnan(one["difference"]["ci_low"])
    same = compare({0: 0.0, 1: 1.0, 2: 2.0}, {0: 1.0, 1: 2.0, 2: 3.0}, "higher")   # every seed +1
    assert same["difference"]["ci_low"] == same["difference"]["ci_high"] == 1.0
    assert same["verdict"] == "reproduced" and same["cohens_dz"] == math.inf
    assert math.isnan(cohens_dz([0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="share no seed"):
        compare({0: 1.0}, {1: 1.0}, "lower")


def test_pairs_by_seed_not_by_order():
    seeds, diffs = paired_differences({0: 1.0, 1: 5.0, 7: 9.0}, {1: 6.0, 0: 2.0, 3: 0.0})
    assert seeds == [0, 1] and diffs == [1.0, 1.0]


def test_combine():
    assert combine(["reproduced", "reproduced"]) == "reproduced"
    assert combine(["reproduced", "inconclusive"]) == "inconclusive"
    assert combine(["reproduced", "contradicted"]) == "contradicted"
    assert combine([]) == "inconclusive"
