"""Execute a notebook in the sandbox (sandbox.py + sandbox_worker.py) and read back what it ran, defensively.

The sandbox's answer is treated like a hostile file: JSON of a capped size, every field type-checked, each output
rebuilt from the fields its type allows (judge.clean_output), records kept as text lines for records.parse_line.
Anything else (a dead sandbox, a wall-clock kill, garbage on stdout) becomes a `stopped` reason and no cells.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field

from .judge import clean_output
from .sandbox import SANDBOX_HOME, Limits, run

PASSED_THROUGH = ("SCOREAUG_SIZE", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TZ", "LD_LIBRARY_PATH")
MAX_RECORD_LINES = 10_000


@dataclass
class Run:
    """One pass of the worker: {cell index: {"outputs": [...], "records": [...]}} and why it stopped early."""

    cells: dict = field(default_factory=dict)
    stopped: str | None = None


def sandbox_env(sandboxed: bool = True) -> dict:
    """The whole environment of the graded kernel: nothing of the grader's but a few harmless settings."""
    home = SANDBOX_HOME if sandboxed else None
    env = {"PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]),
           "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "MALLOC_ARENA_MAX": "2", "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if home:
        env.update(HOME=home, JUPYTER_RUNTIME_DIR=f"{home}/runtime", IPYTHONDIR=f"{home}/.ipython",
                   MPLCONFIGDIR=f"{home}/.matplotlib", TMPDIR="/tmp")
    env.update({k: os.environ[k] for k in PASSED_THROUGH if k in os.environ})
    return env


def _cell(entry, n_cells: int):
    if not isinstance(entry, dict) or type(entry.get("index")) is not int or not 0 <= entry["index"] < n_cells:
        return None
    outputs = entry.get("outputs") if isinstance(entry.get("outputs"), list) else []
    records = entry.get("records") if isinstance(entry.get("records"), list) else []
    return entry["index"], {"outputs": [o for o in map(clean_output, outputs) if o is not None],
                            "records": [r for r in records[:MAX_RECORD_LINES] if isinstance(r, str)]}


def parse_result(stdout: bytes, n_cells: int, n_runs: int) -> list[Run]:
    """The worker's runs, or one Run saying why there are none."""
    try:
        result = json.loads(stdout.decode("utf-8"))
        runs = result["runs"]
        if not isinstance(runs, list) or not runs:
            raise ValueError("no runs")
    except (ValueError, KeyError, TypeError, RecursionError, UnicodeDecodeError) as err:
        return [Run(stopped=f"the sandbox sent back no readable result ({type(err).__name__})")] * n_runs
    parsed = []
    for raw in runs[:n_runs]:
        run_ = Run(stopped=raw.get("stopped") if isinstance(raw, dict) and isinstance(raw.get("stopped"), str)
                   else None)
        for entry in raw.get("cells", []) if isinstance(raw, dict) and isinstance(raw.get("cells"), list) else []:
            if (cell := _cell(entry, n_cells)) is not None:
                run_.cells[cell[0]] = cell[1]
        parsed.append(run_)
    return parsed + [Run(stopped="the sandbox stopped before this pass")] * (n_runs - len(parsed))


def execute(nb, cases_text: str | None, cell_timeout: float, limits: Limits, sandboxed: bool = True,
            variants=None, test_cells=None) -> list[Run]:
    """Run `nb` (and each variant, see sandbox_worker) in the sandbox; the runs as the grader may trust them."""
    request = {"notebook": nb, "cases": cases_text, "cell_timeout": cell_timeout,
               "variants": variants or [], "test_cells": list(test_cells or [])}
    done = run([sys.executable, "-I", "-m", "scoreaug_lab.course.sandbox_worker"],
               json.dumps(request).encode(), limits, sandbox_env(sandboxed), sandboxed=sandboxed)
    runs = parse_result(done.stdout, len(nb.cells), 1 + len(variants or []))
    problem = done.problem()
    if problem:
        for run_ in runs:
            run_.stopped = run_.stopped or f"the sandbox {problem}"
    return runs


__all__ = ["Run", "execute", "parse_result", "sandbox_env"]
