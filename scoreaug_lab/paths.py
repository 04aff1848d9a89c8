"""Where the project's own folders are: the source checkout holding this package, if it is one.

Defaults that notebooks (run from notebooks/) and commands (run from the project) must share live in the project,
not in the working directory: the run store (`runs.keys.default_root`, runs/store) and the data folder
(`data.images.data_dir`, data/). An installed copy has no project, and falls back to the working directory.
"""
from __future__ import annotations

from pathlib import Path


def project_root() -> Path | None:
    """The source checkout holding this package (a folder with pyproject.toml), else None (installed copy)."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() and (here / "scoreaug_lab").is_dir() else None


__all__ = ["project_root"]
