"""The reproduction's own folders: `reproduce --out DIR` and `--publish DEST` write report.md, results.json and
figures there, replacing what they find, so they go only into a folder that is absent, empty or one of the
toolkit's own outputs (it holds MARKER, written on first use, or an older output's invocations.jsonl, or a
published record's provenance.json). A user's folder is refused before anything runs, and nothing in it changes.

    out = claim_folder("runs/reproduce-cpu", "--out")     # checked, created, marked
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import validation as V

MARKER = ".scoreaug-reproduce"                         # in every folder `reproduce` writes
OWN_FILES = (MARKER, "invocations.jsonl", "provenance.json")


def is_own_output(folder) -> bool:
    """Whether `folder` is absent, empty, or holds a file that only the toolkit's reproduction writes."""
    folder = Path(folder)
    if not folder.exists():
        return True
    return not any(folder.iterdir()) or any((folder / name).is_file() for name in OWN_FILES)


def check_folder(folder, option: str = "--out") -> Path:
    """`folder` as a Path when the reproduction may write into it, else one ValueError naming the option."""
    path = V.folder_path(option, folder)          # not '', not a file, not under a file
    if not is_own_output(path):
        raise ValueError(f"{option} {path} holds files that scoreaug-lab did not write (it would replace its "
                         f"report.md, results.json and figures); name an empty or new folder")
    return path


def claim_folder(folder, option: str = "--out") -> Path:
    """check_folder, then create the folder and mark it as the reproduction's (MARKER)."""
    path = check_folder(folder, option)
    path.mkdir(parents=True, exist_ok=True)
    marker = path / MARKER
    if not marker.is_file():
        marker.write_text(json.dumps({"written_by": "scoreaug-lab reproduce"}) + "\n")
    return path


__all__ = ["MARKER", "OWN_FILES", "check_folder", "claim_folder", "is_own_output"]
