"""`scoreaug-lab reproduce`: the paper's claims tested at small scale, with seeds, 95 % confidence intervals and a
computed verdict per claim.

    suite.py      the budgets (smoke, cpu, gpu) and the run list, as data
    runner.py     parallel, resumable execution (worker processes, a progress bar with a time estimate)
    measures.py   what is measured on each run; the classifiers those measures need
    verdicts.py   paired differences, t-intervals, permutation p, Holm, equivalence, the verdict rules
    claims.py     the five claims as comparisons of arms (and the measures derived across arms)
    figures.py, report.py   the PNGs, report.md and results.json
    publish.py    the committed record (reports/reproduce-cpu/) and README's table generated from it
    orientation.py  the orientation classifier that measures rotation leakage
    pipeline.py   `reproduce()`: all of the above in order
"""
from .pipeline import reproduce
from .suite import BUDGETS, build_runs

__all__ = ["reproduce", "BUDGETS", "build_runs"]
