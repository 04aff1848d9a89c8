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
