"""What an assignment's hidden checks are written with (its grading/<assignment>/checks.py). They run in the
grader's own process, on the data a records line brought back (records.py), against oracles the grader imports
itself: nothing the student's code did in its kernel reaches them.

Each check takes one question's record (the probe's data, decoded) and raises `Failed` with a message for the
student (which case, what is wrong) at the first thing that is not right:

    def q3_ideal_denoiser(record):
        for key, (y, s, train) in cases.q3_inputs():
            close(answer(record, key), scores.ideal_denoiser(y, s, train), f"the posterior mean at {key}", atol=1e-8)
"""
from __future__ import annotations

import math

import torch

from .records import Failure


class Failed(AssertionError):
    """A hidden check that does not hold; its message goes to the student's feedback."""


def expect(condition, message: str) -> None:
    if not condition:
        raise Failed(message)


def answer(record, key, what: str | None = None):
    """`record[key]` (a dict record), or Failed when it is missing or says the student's function raised."""
    what = what or str(key)
    expect(isinstance(record, dict), "the hidden tests did not get a result from your function")
    expect(key in record, f"no result for {what}")
    value = record[key]
    if isinstance(value, Failure):
        raise Failed(f"{what}: {value}")
    return value


def tensor(value, what: str, shape=None) -> torch.Tensor:
    """`value` as a tensor of the expected shape (numbers only), or Failed saying what it is instead."""
    if isinstance(value, Failure):
        raise Failed(f"{what}: {value}")
    expect(isinstance(value, torch.Tensor), f"{what}: expected a tensor, got {_kind(value)}")
    if shape is not None:
        expect(tuple(value.shape) == tuple(shape), f"{what}: expected shape {tuple(shape)}, got {tuple(value.shape)}")
    expect(value.dtype != torch.bool, f"{what}: expected numbers, got booleans")
    return value


def close(got, want: torch.Tensor, what: str, atol: float = 1e-6, rtol: float = 0.0) -> None:
    """`got` is a tensor of `want`'s shape, finite where `want` is, within atol + rtol |want| everywhere."""
    got = tensor(got, what, want.shape).to(torch.complex128 if want.is_complex() else torch.float64)
    want = want.to(got.dtype)
    finite = torch.isfinite(want)
    expect(bool(torch.isfinite(got[finite]).all()), f"{what}: your result has NaN or infinite values")
    if finite.any():
        error = (got[finite] - want[finite]).abs()
        bound = atol + rtol * want[finite].abs()
        worst = int(torch.argmax(error - bound))
        expect(bool((error <= bound).all()),
               f"{what}: off by up to {float(error[worst]):.3g} (allowed {float(bound[worst]):.1g})")


def number(value, what: str) -> float:
    """A real number (a bool is not one; a 0-d or one-element tensor is)."""
    if isinstance(value, Failure):
        raise Failed(f"{what}: {value}")
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex() \
            and value.dtype != torch.bool:
        value = value.item()
    expect(type(value) in (int, float), f"{what}: expected a number, got {_kind(value)}")
    return float(value)


def number_close(value, want: float, what: str, atol: float = 1e-9, rtol: float = 0.0) -> None:
    got = number(value, what)
    expect(math.isfinite(got), f"{what}: got {got}")
    expect(abs(got - want) <= atol + rtol * abs(want), f"{what}: got {got:.6g}, expected {want:.6g}")


def boolean(value, what: str) -> bool:
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype == torch.bool:
        value = bool(value.item())
    expect(type(value) is bool, f"{what}: expected True or False, got {_kind(value)}")
    return value


def _kind(value) -> str:
    if isinstance(value, Failure):
        return str(value)
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return "None" if value is None else f"a {type(value).__name__}"


__all__ = ["Failed", "answer", "boolean", "close", "expect", "number", "number_close", "tensor"]
