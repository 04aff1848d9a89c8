"""What the course's notebooks call in their setup cell, in the student's own kernel (nothing of grading here).

nbgrader's Validate button, like its autograder, scores a test cell 0 when anything in it wrote to stderr, so a
FutureWarning from torch, a numpy RuntimeWarning or a progress bar would fail a correct answer. `plain_output()`
shows warnings (each once per place, as Python does) and everything written to stderr as ordinary text instead.
"""
from __future__ import annotations

import sys
import warnings


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{category.__name__} (a warning, not an error): {message}", file=sys.stdout)


def plain_output() -> None:
    """Warnings and stderr as plain text in this kernel: nothing printed can fail a test cell."""
    warnings.showwarning = _show_warning
    sys.stderr = sys.stdout


__all__ = ["plain_output"]
