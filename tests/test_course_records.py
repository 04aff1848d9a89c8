"""records.py: what leaves the sandbox is data, and the grader reads it back like a hostile file."""
import base64
import json
import math

import numpy as np
import pytest
import torch

from scoreaug_lab.course.records import Failure, Raised, RecordError, decode, encode, parse_line


def _line(question, value) -> str:
    return json.dumps({"question": question, "data": encode(value)})


def test_plain_values_round_trip_exactly():
    value = {"a": 1, "b": 2.5, "c": "text", "d": None, "e": True, "f": [1, 2.0, "x"], "g": (3, 4),
             "h": complex(1.5, -2.0), "i": float("nan"), "j": float("-inf"), "k": np.float64(0.25), "l": np.int32(7)}
    question, got = parse_line(_line("q1", value))
    assert question == "q1"
    assert got["a"] == 1 and type(got["a"]) is int and got["b"] == 2.5 and got["c"] == "text" and got["d"] is None
    assert got["e"] is True and got["f"] == [1, 2.0, "x"] and got["g"] == [3, 4] and got["h"] == complex(1.5, -2.0)
    assert math.isnan(got["i"]) and got["j"] == float("-inf") and type(got["k"]) is float and type(got["l"]) is int


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.int64, torch.bool,
                                   torch.complex128])
def test_tensors_keep_values_dtype_and_shape(dtype):
    t = (torch.randn(3, 2, 4, generator=torch.Generator().manual_seed(0)) * 3).to(dtype)
    _, got = parse_line(_line("q", {"t": t, "empty": torch.zeros(0, 5, dtype=dtype), "scalar": t[0, 0, 0]}))
    assert type(got["t"]) is torch.Tensor and got["t"].dtype == dtype and torch.equal(got["t"], t)
    assert got["empty"].shape == (0, 5) and got["scalar"].shape == ()
    _, arr = parse_line(_line("q", t.numpy()))
    assert torch.equal(arr, t)


def test_a_tensor_subclass_comes_back_as_a_plain_tensor():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func is torch.allclose:
                return True
            return super().__torch_function__(func, types, args, kwargs or {})

    _, got = parse_line(_line("q", torch.zeros(3).as_subclass(Liar)))
    assert type(got) is torch.Tensor and not torch.allclose(got, torch.ones(3))


def test_errors_and_unsupported_values_are_failures_not_values():
    _, got = parse_line(_line("q", {"raised": Raised(ValueError("bad sigma")), "object": object(), "keys": {1: 2}}))
    assert isinstance(got["raised"], Failure) and got["raised"].raised and "ValueError: bad sigma" in str(got["raised"])
    assert isinstance(got["object"], Failure) and not got["object"].raised and "object" in str(got["object"])
    assert isinstance(got["keys"], Failure)


def _array(dtype, shape, raw: bytes) -> dict:
    return {"__array__": [dtype, shape, base64.b64encode(raw).decode()]}


@pytest.mark.parametrize("data", [
    _array("float64", [3], b"\0" * 16),                         # bytes do not match the shape
    _array("object", [1], b"\0" * 8),                           # a dtype that could hold code
    _array("float64", [-1], b""),                               # a negative size
    {"__array__": ["float64", [1]]},                            # missing bytes
    {"__array__": ["float64", [1], "%%%not base64%%%"]},
    {"__array__": _array("float64", [1], b"\0" * 8)["__array__"], "extra": 1},   # a tag with other keys
    {"__complex__": ["1", 2]},
    {"__float__": "1e999999"},
    {"__error__": 5},
])
def test_malformed_records_are_refused(data):
    with pytest.raises(RecordError):
        decode(data)


@pytest.mark.parametrize("line", ["not json", "[1, 2]", '{"question": 1, "data": 2}', '{"question": "q"}',
                                  '{"question": "q", "data": 1, "more": 2}', "[" * 100000 + "]" * 100000])
def test_lines_that_are_not_records_are_refused(line):
    with pytest.raises(RecordError):
        parse_line(line)


def test_deep_or_huge_records_are_refused():
    deep = 1
    for _ in range(40):
        deep = [deep]
    with pytest.raises(RecordError):
        decode(deep)
    with pytest.raises(RecordError):
        decode(list(range(200_000)))
