"""The statistics behind every verdict of the reproduction: paired-by-seed differences, 95 % Student-t
intervals, an effect size, and the verdict read off the interval (never written by hand).

A comparison pairs two arms by seed (seed s trains both on the same training subset, from the same
initialisation and sample noise), takes the differences d_s = treatment_s - baseline_s and their 95 %
interval mean(d) ± t_{0.975, n-1} sd(d) / sqrt(n) (`summary.ci95`). The paper's direction is "lower" (the
treatment should make the metric smaller) or "higher". The verdict:

    reproduced    the interval excludes 0 on the paper's side
    contradicted  the interval excludes 0 on the other side
    inconclusive  the interval contains 0 (or fewer than 2 seeds)

Effect size: Cohen's d_z = mean(d) / sd(d) (paired), with the relative change mean(d) / |mean(baseline)|.
A claim made of several comparisons is reproduced when all of them are, contradicted when any is, and
inconclusive otherwise (`combine`). The intervals are per comparison, not adjusted for multiplicity.
"""
from __future__ import annotations

import math

from ..evaluate.summary import ci95, mean_std

LEVEL = 0.95
DIRECTIONS = {"lower": -1, "higher": +1}
VERDICTS = ("reproduced", "contradicted", "inconclusive")


def interval(values) -> dict:
    """mean, sample std (n - 1), n and the 95 % t-interval of the mean of `values` (nan bounds below 2 values)."""
    values = [float(v) for v in values]
    m, s = mean_std(values)
    lo, hi = ci95(values)
    return {"mean": m, "std": s, "n": len(values), "ci_low": lo, "ci_high": hi}


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


def verdict(ci_low: float, ci_high: float, expect: str) -> str:
    """The verdict of an interval for the difference treatment - baseline, given the paper's direction."""
    sign = DIRECTIONS[expect]
    if math.isnan(ci_low) or math.isnan(ci_high):
        return "inconclusive"
    if sign * ci_low > 0 and sign * ci_high > 0:
        return "reproduced"
    if sign * ci_low < 0 and sign * ci_high < 0:
        return "contradicted"
    return "inconclusive"


def compare(baseline: dict, treatment: dict, expect: str) -> dict:
    """One paired comparison of per-seed values {seed: value} of two arms; its difference interval and verdict."""
    if expect not in DIRECTIONS:
        raise ValueError(f"expect must be one of {', '.join(DIRECTIONS)}, got {expect!r}")
    seeds, diffs = paired_differences(baseline, treatment)
    if not seeds:
        raise ValueError("the two arms share no seed: nothing to pair")
    diff = interval(diffs)
    base_mean = mean_std([baseline[s] for s in seeds])[0]
    return {"seeds": seeds, "expect": expect, "differences": diffs, "difference": diff,
            "cohens_dz": cohens_dz(diffs),
            "relative": diff["mean"] / abs(base_mean) if base_mean else math.nan,
            "baseline": interval([baseline[s] for s in seeds]),
            "treatment": interval([treatment[s] for s in seeds]),
            "verdict": verdict(diff["ci_low"], diff["ci_high"], expect)}


def one_sample(values: dict, expect: str, reference: float = 0.0) -> dict:
    """Whether per-seed values lie above ("higher") or below ("lower") `reference`: the same rule on the
    interval of values - reference (e.g. the baseline's held-out minus training loss > 0: it overfits)."""
    seeds = sorted(values)
    diffs = [float(values[s]) - reference for s in seeds]
    diff = interval(diffs)
    return {"seeds": seeds, "expect": expect, "reference": reference, "differences": diffs, "difference": diff,
            "cohens_dz": cohens_dz(diffs), "verdict": verdict(diff["ci_low"], diff["ci_high"], expect)}


def combine(verdicts) -> str:
    """All reproduced -> reproduced; any contradicted -> contradicted; otherwise (or none) inconclusive."""
    verdicts = list(verdicts)
    if not verdicts:
        return "inconclusive"
    if "contradicted" in verdicts:
        return "contradicted"
    return "reproduced" if all(v == "reproduced" for v in verdicts) else "inconclusive"


__all__ = ["LEVEL", "DIRECTIONS", "VERDICTS", "interval", "paired_differences", "cohens_dz", "verdict", "compare",
           "one_sample", "combine"]
