"""`scoreaug-lab` commands run from Python: `run_cli` runs one in this process (what notebook 06 shows),
`run_commands` several at once in worker processes, `evaluate_many` the evaluations of several runs (each saved
next to its run and reused while the run is unchanged). `scoreaug-lab prepare` (prepare.py) runs notebook 06's
commands with them.

    run_cli("train", "--preset", "cifar10-cpu", "--out", "runs/c10")
    run_commands([["train", ...], ["classifier", ...]], workers=2)
"""
from __future__ import annotations

import contextlib
import io
import json
import shlex
import time
from pathlib import Path

from ..runs.workers import JobFailed, WorkerPool


# --- the command line, run from a notebook ------------------------------------------------------------------
def run_cli(*argv, quiet: bool = False) -> str:
    """Run `scoreaug-lab ARGV` in this process (exactly what the shell command does); print the command, and its
    output unless quiet (quiet: its error line too goes into the exception only). Returns what it printed; raises
    JobFailed (a RuntimeError) with the command's exit code when it fails."""
    from . import main
    argv = [str(a) for a in argv]
    print("$ scoreaug-lab " + shlex.join(argv), flush=True)
    _check_allowed(argv)
    printed, errors = io.StringIO(), io.StringIO()
    own_errors = contextlib.redirect_stderr(errors) if quiet else contextlib.nullcontext()
    with contextlib.redirect_stdout(printed), own_errors:
        code = main(argv)
    if not quiet:
        print(printed.getvalue(), end="", flush=True)
    if code != 0:
        raise _failed(argv, code, errors.getvalue())
    return printed.getvalue()


def _failed(argv: list, code: int, stderr: str) -> JobFailed:
    """The error of a failed command: its own last error line, and its exit code (2 bad input, else 1)."""
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    return JobFailed(f"scoreaug-lab {shlex.join(argv)} exited with code {code}" + (f": {last}" if last else ""),
                     2 if code == 2 else 1)


def _cli_worker(argv: list) -> tuple[int, str, str]:
    """Run one command in a worker process (one torch thread, runs.workers.init_worker); (exit code, stdout, stderr)."""
    from . import main
    out, err = io.StringIO(), io.StringIO()
    clock = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + f"   ({time.perf_counter() - clock:.1f} s)\n", err.getvalue()


def run_commands(commands, workers: int | None = None, quiet: bool = False) -> list[str]:
    """Run several `scoreaug-lab` commands (argument lists) at once, as several shells would: in `workers`
    spawned processes of one torch thread each (default one per core, at most one per command; one after the
    other, in this process, when a GPU is present: they share it). Commands that
    have nothing to do (`train` of a finished run folder) run here at once. Prints each command, and its output
    when it ends (unless quiet); returns the outputs in order; raises RuntimeError naming a failed command."""
    commands = [[str(a) for a in argv] for argv in commands]
    from ..runs.store import resolve_workers
    busy = [i for i, argv in enumerate(commands) if not nothing_to_do(argv)]
    outputs: dict[int, str] = {}
    for i, argv in enumerate(commands):
        if i not in busy:
            outputs[i] = run_cli(*argv, quiet=quiet)
    import torch
    workers = resolve_workers(workers, len(busy), "cuda" if torch.cuda.is_available() else "cpu")
    if workers <= 1:
        for i in busy:
            outputs[i] = run_cli(*commands[i], quiet=quiet)
        return [outputs[i] for i in range(len(commands))]
    for i in busy:
        _check_allowed(commands[i])
        print("$ scoreaug-lab " + shlex.join(commands[i]), flush=True)
    print(f"   ({len(busy)} commands in {workers} worker processes of one thread each)", flush=True)
    shown = 0                                       # outputs are printed in the commands' order
    with WorkerPool(workers) as pool:
        for i in busy:
            pool.submit(i, _cli_worker, commands[i])
        for i, (code, out, err) in pool.results():
            if code != 0:
                raise _failed(commands[i], code, err)
            outputs[i] = out
            while shown < len(busy) and busy[shown] in outputs:
                if not quiet:
                    print(f"[{_label(commands[busy[shown]])}] {outputs[busy[shown]]}", end="", flush=True)
                shown += 1
    return [outputs[i] for i in range(len(commands))]


def _label(argv: list) -> str:
    """A short name for a command's output: the command and its run folder (or output file)."""
    for option in ("--out", "--run"):
        if option in argv[:-1]:
            return f"{argv[0]} {Path(argv[argv.index(option) + 1]).name}"
    return argv[0]


def train_config_of(argv: list):
    """The TrainConfig of a `train` argument list (None for other commands)."""
    if not argv or argv[0] != "train":
        return None
    from . import build_parser
    from .train import train_config_from_args
    return train_config_from_args(build_parser().parse_args(argv))


def _train_finished(argv: list) -> bool:
    from ..runs.checkpoint import load_checkpoint
    from ..runs.folder import CHECKPOINT
    config = train_config_of(argv)
    path = Path(config.out) / CHECKPOINT
    return path.is_file() and int(load_checkpoint(path, map_location="cpu")["step"]) >= config.steps


def nothing_to_do(argv: list) -> bool:
    return bool(argv) and argv[0] == "train" and "--fresh" not in argv and _train_finished(argv)


def _check_allowed(argv: list) -> None:
    """SCOREAUG_FORBID_TRAINING: a `train` that would train, or a `classifier`, raises TrainingForbidden."""
    from ..runs.store import check_training_allowed
    if argv and argv[0] == "train" and not nothing_to_do(argv):
        check_training_allowed(f"the run folder {train_config_of(argv).out}")
    elif argv and argv[0] == "classifier":
        check_training_allowed("the proxy-FID classifier")


EVAL_COMMAND = "eval_command.json"


def evaluate_once(run_dir, argv, quiet: bool = True) -> dict:
    """The run's eval.json, computed by `scoreaug-lab evaluate ARGV` unless the saved one is of the run's
    current checkpoint step and of these same options (recorded beside it in eval_command.json)."""
    saved = _saved_evaluation(run_dir, argv)
    if saved is not None:
        print(f"$ scoreaug-lab {shlex.join(argv)}   (reused: {Path(run_dir) / 'eval.json'} of step {saved['step']})")
        return saved
    run_cli(*argv, quiet=quiet)
    _record_evaluation(run_dir, argv)
    return json.loads((Path(run_dir) / "eval.json").read_text())


def evaluate_many(items: dict, workers: int | None = None) -> dict:
    """{key: eval.json} for {key: (run_dir, argv)}: saved evaluations reused (see `evaluate_once`), the others
    computed in parallel worker processes."""
    todo = {k: (d, [str(a) for a in argv]) for k, (d, argv) in items.items() if _saved_evaluation(d, argv) is None}
    for key, (run_dir, argv) in items.items():
        if key not in todo:
            print(f"$ scoreaug-lab {shlex.join(str(a) for a in argv)}   (reused: eval.json of this checkpoint "
                  "and options)")
    if todo:
        run_commands([argv for _, argv in todo.values()], workers, quiet=True)
        for run_dir, argv in todo.values():
            _record_evaluation(run_dir, argv)
    return {k: json.loads((Path(d) / "eval.json").read_text()) for k, (d, _) in items.items()}


def _saved_evaluation(run_dir, argv) -> dict | None:
    run_dir = Path(run_dir)
    try:
        saved = json.loads((run_dir / "eval.json").read_text())
        recorded = json.loads((run_dir / EVAL_COMMAND).read_text())
        step = _checkpoint_step(run_dir)
    except (OSError, ValueError):
        return None
    same = recorded.get("argv") == [str(a) for a in argv] and recorded.get("step") == step == saved.get("step")
    return saved if same else None


def _checkpoint_step(run_dir) -> int:
    from ..runs.checkpoint import load_checkpoint
    from ..runs.folder import CHECKPOINT
    return int(load_checkpoint(Path(run_dir) / CHECKPOINT, map_location="cpu")["step"])


def _record_evaluation(run_dir, argv) -> None:
    from ..runs.checkpoint import save_json
    save_json({"argv": [str(a) for a in argv], "step": _checkpoint_step(run_dir)}, Path(run_dir) / EVAL_COMMAND)


__all__ = ["EVAL_COMMAND", "evaluate_many", "evaluate_once", "nothing_to_do", "run_cli", "run_commands",
           "train_config_of"]
