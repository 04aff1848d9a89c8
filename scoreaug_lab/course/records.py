"""What a graded notebook hands back: the outputs of the student's functions on the hidden inputs, as data only.

In the sandbox, the hidden part of each test cell is one call, `record("q3_ideal_denoiser", ideal_denoiser)`: it
runs the question's probe from the assignment's `grading/<assignment>/cases.py` (the hidden inputs, and how to
call the answer on them) with the library's own answer to the question refused (`guard.py`), and appends one JSON
line to the records file. The grader reads that file back with `decode`: JSON (never a pickle), tensors as raw
bytes of a known dtype and shape, exact Python types, sizes checked. Whatever the student's code does in its
kernel, all it can change is this data; the checks that judge it run in the grader's own process (`checks.py`).

    encode(value) -> JSON-ready data        (in the kernel)
    decode(data)  -> plain Python / tensors (in the grader; raises RecordError on anything else)
"""
from __future__ import annotations

import base64
import json
import math
import os
import runpy

import numpy as np
import torch

CASES_VARIABLE = "SCOREAUG_GRADING_CASES"        # path of the assignment's cases.py inside the sandbox
RECORDS_VARIABLE = "SCOREAUG_GRADING_RECORDS"    # path of the records file (JSON lines) inside the sandbox
DTYPES = ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "complex128",
          "complex64")
MAX_DEPTH = 12
MAX_ITEMS = 100_000
TAGS = ("__array__", "__error__", "__complex__", "__float__", "__unsupported__")


class RecordError(ValueError):
    """A record that is not plain data of the expected form."""


class Raised:
    """What a call to the student's function raised (an error message instead of a value)."""

    def __init__(self, error: BaseException):
        self.message = f"{type(error).__name__}: {error}"[:500]


# --- in the kernel ----------------------------------------------------------------------------------------------
def _array(value: np.ndarray) -> dict:
    value = np.array(value, order="C", copy=True)               # 0-d stays 0-d (ascontiguousarray would not)
    if value.dtype.name not in DTYPES:
        return {"__unsupported__": f"an array of dtype {value.dtype.name}"}
    return {"__array__": [value.dtype.name, list(value.shape), base64.b64encode(value.tobytes()).decode()]}


def encode(value, depth: int = 0):
    """JSON-ready data of an answer: numbers, strings, lists, dicts with string keys, arrays (tensors keep their
    values, dtype and shape); anything else is marked unsupported and fails its check."""
    if depth > MAX_DEPTH:
        return {"__unsupported__": "nested too deeply"}
    if isinstance(value, Raised):
        return {"__error__": value.message}
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else {"__float__": repr(number)}      # nan, inf, -inf
    if isinstance(value, (complex, np.complexfloating)):
        return {"__complex__": [float(value.real), float(value.imag)]}
    if isinstance(value, torch.Tensor):
        plain = torch.Tensor.as_subclass(value, torch.Tensor).detach().cpu().resolve_conj().resolve_neg()
        return _array(plain.numpy())
    if isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, (list, tuple)):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(type(k) is str for k in value):
            return {"__unsupported__": "a dict with keys that are not strings"}
        return {k: encode(v, depth + 1) for k, v in value.items()}
    return {"__unsupported__": f"a {type(value).__name__}"}


def _cases():
    path = os.environ.get(CASES_VARIABLE)
    if not path:
        raise RuntimeError("this notebook is graded by `scoreaug-lab course autograde` (or nbgrader with the course's "
                           "nbgrader_config.py), which runs its hidden tests outside the notebook")
    return runpy.run_path(path)


def record(question: str, answer) -> None:
    """Run `question`'s probe on the student's `answer` (a function, or a dict of the question's functions by
    name) and append the data it returns to the records file."""
    from .guard import refusing

    cases = _cases()
    probe = cases["PROBES"][question]
    forbidden = cases.get("FORBIDDEN", {}).get(question, ())
    with refusing(forbidden, question) as guarded:
        calls = {k: guarded(v) for k, v in answer.items()} if isinstance(answer, dict) else guarded(answer)
        data = probe(calls)
    line = json.dumps({"question": question, "data": encode(data)}, allow_nan=False)
    with open(os.environ[RECORDS_VARIABLE], "a", encoding="utf-8") as f:
        f.write(line + "\n")


# --- in the grader ----------------------------------------------------------------------------------------------
def _decode_array(spec) -> torch.Tensor:
    if not (isinstance(spec, list) and len(spec) == 3 and type(spec[0]) is str and type(spec[2]) is str
            and isinstance(spec[1], list) and all(type(n) is int and 0 <= n for n in spec[1])):
        raise RecordError("a malformed array")
    dtype, shape, data = spec
    if dtype not in DTYPES:
        raise RecordError(f"an array of dtype {dtype!r}")
    try:
        raw = base64.b64decode(data.encode(), validate=True)
    except ValueError:
        raise RecordError("an array whose bytes are not base64") from None
    size = math.prod(shape)
    if size * np.dtype(dtype).itemsize != len(raw):
        raise RecordError("an array whose bytes do not match its shape")
    return torch.from_numpy(np.frombuffer(raw, dtype=dtype).reshape(shape).copy())


def decode(data, depth: int = 0, budget: list | None = None):
    """Plain values from `encode`'s data, checked on the way: errors and unsupported values are returned as
    `Raised`-like markers (`Failure`), arrays as tensors; anything malformed raises RecordError."""
    budget = [MAX_ITEMS] if budget is None else budget
    budget[0] -= 1
    if depth > MAX_DEPTH + 1 or budget[0] < 0:
        raise RecordError("a record nested too deeply or too large")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(v, depth + 1, budget) for v in data]
    if type(data) is not dict:
        raise RecordError(f"a {type(data).__name__}")
    tags = [k for k in data if k in TAGS]
    if not tags:
        return {k: decode(v, depth + 1, budget) for k, v in data.items()}
    if len(data) != 1:
        raise RecordError("a tagged value with other keys")
    tag, value = tags[0], data[tags[0]]
    if tag == "__array__":
        return _decode_array(value)
    if tag == "__complex__":
        if not (type(value) is list and len(value) == 2 and all(type(v) in (int, float) for v in value)):
            raise RecordError("a malformed complex number")
        return complex(*value)
    if tag == "__float__":
        if value not in ("nan", "inf", "-inf"):
            raise RecordError("a malformed non-finite number")
        return float(value)
    if type(value) is not str:
        raise RecordError(f"a malformed {tag}")
    return Failure(value[:500], raised=tag == "__error__")


class Failure:
    """In a decoded record: the student's function raised (`raised`) or returned something that is not data."""

    def __init__(self, message: str, raised: bool):
        self.message, self.raised = message, raised

    def __str__(self) -> str:
        return f"your function raised {self.message}" if self.raised else f"your function returned {self.message}"


def parse_line(line: str) -> tuple[str, object]:
    """(question, decoded data) of one records line; RecordError when it is not one."""
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError) as err:
        raise RecordError(f"not JSON ({type(err).__name__})") from None
    if type(entry) is not dict or set(entry) != {"question", "data"} or type(entry["question"]) is not str:
        raise RecordError("not a record")
    return entry["question"], decode(entry["data"])


__all__ = ["CASES_VARIABLE", "Failure", "RECORDS_VARIABLE", "Raised", "RecordError", "decode", "encode",
           "parse_line", "record"]
