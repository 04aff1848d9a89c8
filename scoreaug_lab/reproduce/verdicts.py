"""The statistics behind every verdict of the reproduction: paired-by-seed differences, 95 % Student-t
intervals, a sign-flip permutation p, Holm's adjustment, an equivalence test, and the verdicts read off them
(never written by hand).

A comparison pairs two arms by seed (suite.py says what one seed shares), takes the differences
d_s = treatment_s - baseline_s and their 95 % interval mean(d) ± t_{0.975, n-1} sd(d) / sqrt(n)
(`summary.ci95`). The paper's direction is "lower" (the treatment should make the metric smaller), "higher",
or "equivalent" (the two arms should not differ by more than a stated margin). The verdict of one comparison:

    reproduced    the interval excludes 0 on the paper's side
                  (equivalent: the 90 % interval lies inside ±margin, i.e. two one-sided tests at 5 %)
    contradicted  the interval excludes 0 on the other side (equivalent: it lies beyond +margin or -margin)
    inconclusive  otherwise (or fewer than 2 seeds)

How wide the intervals are: with n seeds the interval's half-width is (t_{0.975, n-1} / sqrt(n)) sd(d), so a
verdict needs |d_z| = |mean(d)| / sd(d) > t_{0.975, n-1} / sqrt(n) (`resolution`): 2.48 at 3 seeds, 1.24 at 5.
Beside each interval: the exact two-sided sign-flip permutation p of mean(d) (every one of the 2^n sign
patterns; it cannot go below 2 / 2^n: 0.25 at 3 seeds, 0.0625 at 5).

A claim made of several counted comparisons (`combine`): reproduced when every one is (an intersection-union
test: each at 5 %, no adjustment needed); contradicted when one contradicts after Holm's step-down adjustment
of the counted comparisons' two-sided t p-values (a union of tests: the adjustment keeps the chance of a
false "contradicted" at 5 %); inconclusive otherwise.
"""
from __future__ import annotations

import itertools
import math

from scipy import stats

from ..evaluate.summary import mean_std, t_interval

LEVEL = 0.95
ALPHA = 1 - LEVEL
DIRECTIONS = {"lower": -1, "higher": +1, "equivalent": 0}
VERDICTS = ("reproduced", "contradicted", "inconclusive")
MAX_EXACT_PERMUTATION = 16   # seeds; 2^16 sign patterns


def interval(values, level: float = LEVEL) -> dict:
    """mean, sample std (n - 1), n and the t-interval of the mean of `values` (nan bounds below 2 values)."""
    values = [float(v) for v in values]
    m, s = mean_std(values)
    lo, hi = t_interval(values, level)
    return {"mean": m, "std": s, "n": len(values), "ci_low": lo, "ci_high": hi}


def resolution(n: int) -> dict:
    """How fine n paired seeds can resolve: t_{0.975, n-1}, the interval multiplier t / sqrt(n) (half-width in
    units of sd(d)), which is also the smallest |d_z| whose interval excludes 0, and the smallest permutation p."""
    if n < 2:
        return {"n": n, "t": math.nan, "multiplier": math.nan, "min_dz": math.nan, "min_permutation_p": 1.0}
    t = float(stats.t.ppf(1 - ALPHA / 2, n - 1))
    return {"n": n, "t": t, "multiplier": t / math.sqrt(n), "min_dz": t / math.sqrt(n),
            "min_permutation_p": min(1.0, 2 / 2 ** n)}


def paired_differences(baseline: dict, treatment: dict) -> tuple[list, list]:
    """(seeds present in both, treatment - baseline per seed), seeds in increasing order."""
    seeds = sorted(set(baseline) & set(treatment))
    return seeds, [float(treatment[s]) - float(baseline[s]) for s in seeds]


def cohens_dz(diffs) -> float:
    """Paired effect size mean(d) / sd(d); +-inf when every seed gives the same non-zero difference, nan for
    no difference at all or fewer than 2 seeds."""
    if len(diffs) < 2:
        return math.nan
    m, s = mean_std(diffs)
    if s > 0:
        return m / s
    return math.copysign(math.inf, m) if m != 0 else math.nan


def t_p_value(diffs, reference: float = 0.0) -> float:
    """Two-sided p of the one-sample t-test of mean(d) = reference. Every difference equal (sd 0, e.g. step counts
    on a coarse grid): the t-test is undefined, and the permutation p of d - reference stands in (1 when equal)."""
    if len(diffs) < 2:
        return math.nan
    m, s = mean_std(diffs)
    if s == 0:
        return 1.0 if m == reference else permutation_p([d - reference for d in diffs])
    t = (m - reference) / (s / math.sqrt(len(diffs)))
    return float(2 * stats.t.sf(abs(t), len(diffs) - 1))


def permutation_p(diffs) -> float:
    """Exact two-sided sign-flip permutation p of mean(d): the share of the 2^n sign patterns whose |mean| is at
    least the observed one (the observed pattern included). nan above MAX_EXACT_PERMUTATION seeds or below 2."""
    n = len(diffs)
    if n < 2 or n > MAX_EXACT_PERMUTATION:
        return math.nan
    observed = abs(sum(diffs)) * (1 - 1e-12)   # ties within rounding count as at least as extreme
    hits = sum(abs(sum(s * d for s, d in zip(signs, diffs))) >= observed
               for signs in itertools.product((1, -1), repeat=n))
    return hits / 2 ** n


def holm(p_values: list) -> list:
    """Holm's step-down adjusted p-values (monotone, capped at 1), in the input's order; nan stays nan."""
    order = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    adjusted = [math.nan] * len(p_values)
    running, m = 0.0, len(order)
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def verdict(ci_low: float, ci_high: float, expect: str, margin: float | None = None) -> str:
    """The verdict of an interval for the difference treatment - baseline, given the paper's direction
    (for "equivalent": the 90 % interval decides "reproduced", the 95 % one "contradicted"; pass the one meant)."""
    if math.isnan(ci_low) or math.isnan(ci_high):
        return "inconclusive"
    if expect == "equivalent":
        if -margin < ci_low and ci_high < margin:
            return "reproduced"
        return "contradicted" if ci_low > margin or ci_high < -margin else "inconclusive"
    sign = DIRECTIONS[expect]
    if sign * ci_low > 0 and sign * ci_high > 0:
        return "reproduced"
    if sign * ci_low < 0 and sign * ci_high < 0:
        return "contradicted"
    return "inconclusive"


def _contra_p(diffs, expect: str, margin) -> float:
    """Two-sided p of the test whose rejection would contradict the paper: the difference is 0 (direction
    claims, when the effect points the other way), or lies at the nearer margin (equivalence claims)."""
    if len(diffs) < 2:
        return math.nan
    m = mean_std(diffs)[0]
    if expect == "equivalent":
        return t_p_value(diffs, math.copysign(margin, m)) if abs(m) > margin else 1.0
    return t_p_value(diffs) if DIRECTIONS[expect] * m < 0 else 1.0


def compare(baseline: dict, treatment: dict, expect: str, margin: float | None = None) -> dict:
    """One paired comparison of per-seed values {seed: value} of two arms: the difference's interval, d_z,
    the t and permutation p-values, the resolution of its seeds, and its verdict."""
    if expect not in DIRECTIONS:
        raise ValueError(f"expect must be one of {', '.join(DIRECTIONS)}, got {expect!r}")
    if expect == "equivalent" and not (margin is not None and margin > 0):
        raise ValueError(f"an equivalence comparison needs a margin > 0, got {margin!r}")
    seeds, diffs = paired_differences(baseline, treatment)
    if not seeds:
        raise ValueError("the two arms share no seed: nothing to pair")
    diff = interval(diffs)
    base_mean = mean_std([baseline[s] for s in seeds])[0]
    if expect == "equivalent":
        tost = interval(diffs, 1 - 2 * ALPHA)
        decided = verdict(tost["ci_low"], tost["ci_high"], expect, margin)
        if decided != "reproduced":
            decided = verdict(diff["ci_low"], diff["ci_high"], expect, margin)
    else:
        tost, decided = None, verdict(diff["ci_low"], diff["ci_high"], expect)
    if expect != "equivalent" and diff["n"] > 1 and diff["std"] == 0 and decided != "inconclusive" \
            and permutation_p(diffs) >= ALPHA:
        decided = "inconclusive"   # a zero-width interval from too few identical differences proves nothing
    return {"seeds": seeds, "expect": expect, "margin": margin, "differences": diffs, "difference": diff,
            "tost_interval": tost, "cohens_dz": cohens_dz(diffs),
            "relative": diff["mean"] / abs(base_mean) if base_mean else math.nan,
            "p_t": t_p_value(diffs), "p_permutation": permutation_p(diffs), "p_contra": _contra_p(diffs, expect, margin),
            "resolution": resolution(len(seeds)),
            "baseline": interval([baseline[s] for s in seeds]), "treatment": interval([treatment[s] for s in seeds]),
            "verdict": decided}


def one_sample(values: dict, expect: str, reference: float = 0.0) -> dict:
    """Whether per-seed values lie above ("higher") or below ("lower") `reference`: the same rule on the
    interval of values - reference (e.g. the baseline's held-out minus training loss > 0: it overfits)."""
    seeds = sorted(values)
    diffs = [float(values[s]) - reference for s in seeds]
    diff = interval(diffs)
    return {"seeds": seeds, "expect": expect, "reference": reference, "differences": diffs, "difference": diff,
            "cohens_dz": cohens_dz(diffs), "p_t": t_p_value(diffs), "p_permutation": permutation_p(diffs),
            "verdict": verdict(diff["ci_low"], diff["ci_high"], expect)}


def adjust_within_claim(comparisons: list) -> None:
    """Holm over the counted comparisons of one claim: each gets p_contra_holm and contradicts_after_holm."""
    counted = [c for c in comparisons if c["counted"]]
    for c, p in zip(counted, holm([c["p_contra"] for c in counted])):
        c["p_contra_holm"] = p
        c["contradicts_after_holm"] = c["verdict"] == "contradicted" and p < ALPHA
    for c in comparisons:
        c.setdefault("p_contra_holm", None)
        c.setdefault("contradicts_after_holm", False)


def combine(comparisons: list) -> str:
    """A claim's verdict from its counted comparisons (after `adjust_within_claim`): all reproduced ->
    reproduced; any contradicted after Holm -> contradicted; otherwise (or none) inconclusive."""
    counted = [c for c in comparisons if c["counted"]]
    if not counted:
        return "inconclusive"
    if any(c["contradicts_after_holm"] for c in counted):
        return "contradicted"
    return "reproduced" if all(c["verdict"] == "reproduced" for c in counted) else "inconclusive"


__all__ = ["LEVEL", "ALPHA", "DIRECTIONS", "VERDICTS", "interval", "resolution", "paired_differences", "cohens_dz",
           "t_p_value", "permutation_p", "holm", "verdict", "compare", "one_sample", "adjust_within_claim",
           "combine"]
