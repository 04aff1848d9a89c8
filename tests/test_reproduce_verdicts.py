"""reproduce.verdicts: intervals and comparisons against scipy and hand-computed cases; the verdict rule."""
import math

import numpy as np
import pytest
from scipy import stats

from scoreaug_lab.reproduce.verdicts import (adjust_within_claim, cohens_dz, combine, compare, holm, interval,
                                             one_sample, paired_differences, permutation_p, resolution, t_p_value,
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
    # every seed +1: a zero-width interval; three identical signs (permutation p 0.25) prove nothing, five do not
    # either (0.0625), six do (0.03125); the t p-value falls back to that permutation p
    same = compare({0: 0.0, 1: 1.0, 2: 2.0}, {0: 1.0, 1: 2.0, 2: 3.0}, "higher")
    assert same["difference"]["ci_low"] == same["difference"]["ci_high"] == 1.0
    assert same["verdict"] == "inconclusive" and same["cohens_dz"] == math.inf and same["p_t"] == 0.25
    six = compare({s: 0.0 for s in range(6)}, {s: 30.0 for s in range(6)}, "higher")
    assert six["verdict"] == "reproduced" and six["p_t"] == 2 / 64
    assert math.isnan(cohens_dz([0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="share no seed"):
        compare({0: 1.0}, {1: 1.0}, "lower")


def test_pairs_by_seed_not_by_order():
    seeds, diffs = paired_differences({0: 1.0, 1: 5.0, 7: 9.0}, {1: 6.0, 0: 2.0, 3: 0.0})
    assert seeds == [0, 1] and diffs == [1.0, 1.0]


def _counted(verdict_, p_contra):
    return {"counted": True, "verdict": verdict_, "p_contra": p_contra}


def test_combine_reproduces_on_the_intersection_and_contradicts_only_after_holm():
    both = [_counted("reproduced", 1.0), _counted("reproduced", 1.0)]
    adjust_within_claim(both)
    assert combine(both) == "reproduced"
    mixed = [_counted("reproduced", 1.0), _counted("inconclusive", 1.0)]
    adjust_within_claim(mixed)
    assert combine(mixed) == "inconclusive"
    # one comparison contradicts at p = 0.03 among three counted ones: Holm multiplies the smallest by 3 -> 0.09
    weak = [_counted("contradicted", 0.03), _counted("reproduced", 1.0), _counted("inconclusive", 1.0)]
    adjust_within_claim(weak)
    assert abs(weak[0]["p_contra_holm"] - 0.09) < 1e-12 and combine(weak) == "inconclusive"
    strong = [_counted("contradicted", 0.01), _counted("reproduced", 1.0), _counted("inconclusive", 1.0)]
    adjust_within_claim(strong)
    assert strong[0]["contradicts_after_holm"] and combine(strong) == "contradicted"
    shown = [{**_counted("contradicted", 0.001), "counted": False}]      # not counted: never decides
    adjust_within_claim(shown)
    assert combine(shown) == "inconclusive"


def test_holm_matches_a_hand_computed_case_and_its_properties():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005 = 0.02, 3*0.01 = 0.03, 2*0.03 = 0.06, max(1*0.04, 0.06) = 0.06
    got = holm([0.01, 0.04, 0.03, 0.005])
    assert np.allclose(got, [0.03, 0.06, 0.06, 0.02])
    raw = np.random.default_rng(3).uniform(0, 0.2, 7)
    adj = np.array(holm(list(raw)))
    assert (adj >= raw - 1e-15).all() and (adj <= 1).all()
    order = np.argsort(raw)
    assert (np.diff(adj[order]) >= -1e-15).all()                       # monotone in the raw order
    assert math.isnan(holm([math.nan, 0.01])[0]) and holm([math.nan, 0.01])[1] == 0.01


@pytest.mark.parametrize("n", [3, 5, 8])
def test_resolution_is_the_smallest_effect_an_interval_can_resolve(n):
    r = resolution(n)
    assert abs(r["t"] - stats.t.ppf(0.975, n - 1)) < 1e-12
    assert abs(r["multiplier"] - r["t"] / math.sqrt(n)) < 1e-12 and r["min_dz"] == r["multiplier"]
    assert r["min_permutation_p"] == 2 / 2 ** n
    # an effect just above min_dz reaches a verdict, just below does not (d = mean ± sd pattern with d_z known)
    base = np.array([1.0, -1.0] * n)[:n]
    base = (base - base.mean()) / base.std(ddof=1)                          # mean 0, sd 1
    for scale, expected in ((1.01, "reproduced"), (0.99, "inconclusive")):
        d = base + scale * r["min_dz"]
        assert compare(dict(enumerate(np.zeros(n))), dict(enumerate(d)), "higher")["verdict"] == expected
    if n == 3:
        assert abs(r["min_dz"] - 2.48) < 0.005          # the figure the issue quotes for 3 seeds


@pytest.mark.parametrize("seed", range(4))
def test_permutation_p_matches_scipy_exact_sign_flips(seed):
    d = np.random.default_rng(seed).normal(0.4, 1.0, 6)
    ours = permutation_p(list(d))
    ref = stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=np.inf,
                                 alternative="two-sided").pvalue
    assert abs(ours - ref) < 1e-12
    assert permutation_p([1.0, 2.0, 3.0, 4.0, 5.0]) == 2 / 32                    # every sign agrees: the floor


def test_t_p_value_matches_scipy():
    d = [0.3, -0.1, 0.5, 0.2, 0.4]
    assert abs(t_p_value(d) - stats.ttest_1samp(d, 0).pvalue) < 1e-12
    assert abs(t_p_value(d, 0.1) - stats.ttest_1samp(d, 0.1).pvalue) < 1e-12


def test_equivalence_is_two_one_sided_tests_at_the_margin():
    zero = {s: 0.0 for s in range(5)}
    close = {0: 0.01, 1: -0.02, 2: 0.03, 3: 0.0, 4: 0.01}
    r = compare(zero, close, "equivalent", margin=0.1)
    lo, hi = stats.t.interval(0.90, 4, loc=np.mean(list(close.values())), scale=stats.sem(list(close.values())))
    assert abs(r["tost_interval"]["ci_low"] - lo) < 1e-12 and abs(r["tost_interval"]["ci_high"] - hi) < 1e-12
    assert r["verdict"] == "reproduced"
    far = {s: v + 0.3 for s, v in close.items()}                       # 0.3 beyond a 0.1 margin, tightly
    assert compare(zero, far, "equivalent", margin=0.1)["verdict"] == "contradicted"
    vague = {0: 0.2, 1: -0.2, 2: 0.1, 3: -0.1, 4: 0.05}                  # too wide to tell
    assert compare(zero, vague, "equivalent", margin=0.1)["verdict"] == "inconclusive"
    with pytest.raises(ValueError, match="margin"):
        compare(zero, close, "equivalent")
