"""While the hidden inputs run through a student's function, the library's own answer to that question is refused.

A question such as "write the ideal denoiser" has a twin in the library (`scores.ideal_denoiser`); a student who
calls it gets the oracle's own numbers. Each assignment's cases.py names the twins of every question
(`FORBIDDEN`); during each call of the student's function on a hidden input, every twin raises PermissionError,
however the student reached it (imported under another name, captured earlier, or called from inside another
library function): a function's code object is swapped, a class's __init__ and __call__ are replaced, and all is
put back after the call. A student who digs the originals back out of the interpreter is what the static scan
(`scan.py`) flags for the instructor.
"""
from __future__ import annotations

import importlib
import inspect
import types
from contextlib import contextmanager

from .records import Raised


def _resolve(qualified: str):
    """'scoreaug_lab.scores.ideal_denoiser' -> the object (the longest importable module prefix, then attributes)."""
    parts = qualified.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ValueError(f"cannot find {qualified!r}")


def _refusal(qualified: str, question: str) -> types.FunctionType:
    message = (f"{qualified} is the library's own answer to {question}; the grader refuses it here: "
               "write this one yourself")
    namespace: dict = {}
    exec(compile(f"def refused(*args, **kwargs):\n    raise PermissionError({message!r})\n", "<grading guard>",
                 "exec"), namespace)
    return namespace["refused"]


class _Swap:
    """One twin made to refuse, and how to put it back."""

    def __init__(self, qualified: str, question: str):
        self.obj, self.refused = _resolve(qualified), _refusal(qualified, question)
        self.saved: list = []

    def apply(self) -> None:
        if inspect.isclass(self.obj):
            for name in ("__init__", "__call__"):
                self.saved.append((name, self.obj.__dict__.get(name, _MISSING)))
                setattr(self.obj, name, self.refused)
        elif isinstance(self.obj, types.FunctionType) and not self.obj.__closure__:
            self.saved.append(("__code__", self.obj.__code__))
            self.obj.__code__ = self.refused.__code__
        else:
            raise TypeError(f"cannot guard {self.obj!r}: name a plain function or a class in FORBIDDEN")

    def restore(self) -> None:
        for name, original in reversed(self.saved):
            if name == "__code__":
                self.obj.__code__ = original
            elif original is _MISSING:
                delattr(self.obj, name)
            else:
                setattr(self.obj, name, original)
        self.saved.clear()


_MISSING = object()


@contextmanager
def refusing(forbidden, question: str):
    """Yields `guarded(answer)`: a function that calls `answer` with every name in `forbidden` refused, and
    returns what it returned, or a `Raised` when it raised."""
    swaps = [_Swap(name, question) for name in forbidden]

    def guarded(answer):
        def call(*args, **kwargs):
            for swap in swaps:
                swap.apply()
            try:
                return answer(*args, **kwargs)
            except Exception as err:             # a failing answer is recorded as such, not raised
                return Raised(err)
            finally:
                for swap in reversed(swaps):
                    swap.restore()
        return call

    yield guarded


__all__ = ["refusing"]
