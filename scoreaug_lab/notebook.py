"""Helpers for the walkthrough notebooks.

One environment variable switches every notebook between its teaching size and its test size:
SCOREAUG_SIZE=teach (default) or SCOREAUG_SIZE=test (what the test suite runs).
"""
from __future__ import annotations

import os

SIZES = ("teach", "test")


def notebook_size() -> str:
    size = os.environ.get("SCOREAUG_SIZE", "teach").strip().lower()
    if size not in SIZES:
        raise ValueError(f"SCOREAUG_SIZE must be one of {', '.join(SIZES)}, got {size!r}")
    return size


def by_size(teach, test):
    """`teach` in class, `test` under the test suite: by_size(teach=5000, test=200)."""
    return test if notebook_size() == "test" else teach
