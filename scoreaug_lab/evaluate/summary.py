"""Summaries over seeds: mean, sample standard deviation, a 95 % confidence interval (Student's t), and the
'mean ± std' text every table of the toolkit prints. One implementation for notebooks, the demo, benchmarks
and the reproduction report."""
from __future__ import annotations

import math
import statistics

from scipy import stats as _stats


def mean_std(values) -> tuple[float, float]:
    """(mean, sample standard deviation with n - 1) of per-seed values; the std is nan for one value."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_std needs at least one value")
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else float("nan"))


def ci95(values) -> tuple[float, float]:
    """95 % confidence interval of the mean, mean ± t_{0.975, n-1} std / sqrt(n); (nan, nan) for one value."""
    m, s = mean_std(values)
    n = len(values)
    if n < 2:
        return float("nan"), float("nan")
    half = _stats.t.ppf(0.975, n - 1) * s / math.sqrt(n)
    return m - half, m + half


def fmt(values, digits: int = 3) -> str:
    """'mean ± std' over seeds, or the single value marked as one seed."""
    m, s = mean_std(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}" if len(values) > 1 else f"{m:.{digits}f} (1 seed)"


__all__ = ["mean_std", "ci95", "fmt"]
