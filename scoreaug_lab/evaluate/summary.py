"""Summaries over seeds: mean, sample standard deviation, a 95 % confidence interval (Student's t), the
'mean ± std' text every table of the toolkit prints, and the comparison of two variants' seeds (Welch's interval
of the difference) that a notebook prints as a sentence instead of asserting it in fixed prose. One implementation
for notebooks, the demo, benchmarks and the reproduction report."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from scipy import stats as _stats


def mean_std(values) -> tuple[float, float]:
    """(mean, sample standard deviation with n - 1) of per-seed values; the std is nan for one value."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_std needs at least one value")
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else float("nan"))


def t_interval(values, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of the mean at `level`, mean ± t_{(1 + level)/2, n-1} std / sqrt(n); (nan, nan) for one
    value."""
    m, s = mean_std(values)
    n = len(values)
    if n < 2:
        return float("nan"), float("nan")
    half = _stats.t.ppf(0.5 + level / 2, n - 1) * s / math.sqrt(n)
    return m - half, m + half


def ci95(values) -> tuple[float, float]:
    """95 % confidence interval of the mean (`t_interval` at 0.95)."""
    return t_interval(values, 0.95)


def fmt(values, digits: int = 3) -> str:
    """'mean ± std' over seeds, or the single value marked as one seed."""
    m, s = mean_std(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}" if len(values) > 1 else f"{m:.{digits}f} (1 seed)"


@dataclass(frozen=True)
class Difference:
    """mean(b) - mean(a) over independent seeds, with Welch's 95 % interval (unequal variances); nan without spread
    to judge it by (one seed on either side)."""
    difference: float
    low: float
    high: float
    n_a: int
    n_b: int

    @property
    def separated(self) -> bool:
        """Whether the interval excludes 0: these seeds tell the two apart."""
        return self.low > 0 or self.high < 0

    def sentence(self, a: str, b: str, what: str, digits: int = 3) -> str:
        """One line a notebook prints: what the seeds say about `b` against `a` on `what` (numbers to `digits`
        significant digits, so that a small interval that excludes 0 never reads as [+0.000, +0.002])."""
        head = f"{what}, {b} − {a}: {self.difference:+.{digits}g}"
        if math.isnan(self.low):
            return f"{head} (one seed: no spread to judge it by)"
        if not self.separated:
            verdict = "not separated by these seeds (the interval holds 0)"
        else:
            verdict = f"separated: {b} {'higher' if self.difference > 0 else 'lower'} than {a}"
        return (f"{head}, 95 % interval [{self.low:+.{digits}g}, {self.high:+.{digits}g}] (Welch, {self.n_a} and "
                f"{self.n_b} seeds): {verdict}")


def difference(a, b) -> Difference:
    """mean(b) - mean(a) of two independent groups of per-seed values and Welch's 95 % interval for it
    (scipy.stats.ttest_ind(b, a, equal_var=False).confidence_interval() where both groups vary)."""
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    na, nb, d = len(a), len(b), mb - ma
    if na < 2 or nb < 2:
        return Difference(d, float("nan"), float("nan"), na, nb)
    va, vb = sa ** 2 / na, sb ** 2 / nb
    if va + vb == 0:                                    # no spread at all: the difference is exact
        return Difference(d, d, d, na, nb)
    dof = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    half = float(_stats.t.ppf(0.975, dof)) * math.sqrt(va + vb)
    return Difference(d, d - half, d + half, na, nb)


def against_baseline(groups: dict, baseline: str, what: str, digits: int = 3) -> list[str]:
    """For {name: per-seed values}: one sentence per name other than `baseline`, against it (see Difference)."""
    return [difference(groups[baseline], values).sentence(baseline, name, what, digits)
            for name, values in groups.items() if name != baseline]


__all__ = ["Difference", "against_baseline", "ci95", "difference", "fmt", "mean_std", "t_interval"]
