"""Helpers every walkthrough notebook shares: its size (the policy is `presets.by_size`), and tables that render
as tables.

One environment variable switches every notebook between its teaching size and its test size:
SCOREAUG_SIZE=teach (default) or SCOREAUG_SIZE=test (what the test suite runs).
Statistics over seeds (mean_std, fmt, against_baseline: the sentences a notebook prints about which
differences its seeds resolve) live in `scoreaug_lab.evaluate.summary`; the seed-strip plot in `plotting`.
"""
from __future__ import annotations

from ..evaluate.summary import against_baseline, fmt, mean_std
from ..presets import SIZES, by_size, notebook_size


def escape_cell(value) -> str:
    """A value as Markdown table text: '|' (which would split the cell), '*' and '_' are escaped."""
    text = str(value)
    for char in ("\\", "|", "*", "_"):
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def markdown_table(header, rows, caption: str = "") -> str:
    """Rows as a Markdown table; every cell escaped, so formulas such as max |a - b| stay in their cell."""
    lines = [f"*{escape_cell(caption)}*", ""] if caption else []
    lines += ["| " + " | ".join(escape_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(escape_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def table(header, rows, caption: str = "") -> None:
    """Show rows as a Markdown table in the notebook (see markdown_table)."""
    from IPython.display import Markdown, display
    display(Markdown(markdown_table(header, rows, caption)))


__all__ = ["SIZES", "notebook_size", "by_size", "escape_cell", "markdown_table", "table", "mean_std", "fmt",
           "against_baseline"]
