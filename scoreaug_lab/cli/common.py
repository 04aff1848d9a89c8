"""What every command module shares: the program name and a parser that fails in one line."""
from __future__ import annotations

import argparse

from ..transforms import parse_value

PROG = "scoreaug-lab"


class UsageError(Exception):
    """Raised instead of argparse's multi-line usage message."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def exit_code(err: BaseException) -> int | None:
    """The exit code of an error that ends a command in one line: 2 for bad input (an option, a file, a setting
    such as SCOREAUG_FORBID_TRAINING), 1 for a failure of the machine (a full disk, a killed worker process);
    None for anything else (a bug: its traceback is shown)."""
    from concurrent.futures.process import BrokenProcessPool

    from ..runs.keys import TrainingForbidden
    from ..runs.workers import JobFailed
    if isinstance(err, JobFailed):
        return err.exit_code
    if isinstance(err, (UsageError, ValueError, TypeError, FileNotFoundError, TrainingForbidden)):
        return 2
    if isinstance(err, (OSError, BrokenProcessPool)):
        return 1
    return None


def seeds_option(option: str, text: str) -> list[int]:
    """parse_seeds(text), its error naming the option (e.g. '--seeds: a seed must be in [0, 4294967295], ...')."""
    from ..sampling import parse_seeds
    try:
        return parse_seeds(text)
    except ValueError as err:
        raise UsageError(f"{option}: {err}") from None


def _option_value(text: str):
    """'256' -> 256, '0.1' -> 0.1, '1,2,2' -> (1, 2, 2), 'true'/'false' -> bool, else the text."""
    if "," in text:
        return tuple(_option_value(part.strip()) for part in text.split(",") if part.strip())
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return parse_value(text)


def _key_values(items) -> dict:
    """['width=256', 'channel_mult=1,2,2'] -> {'width': 256, 'channel_mult': (1, 2, 2)}."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--model-opt expects key=value, got {item!r}")
        out[key] = _option_value(value)
    return out
