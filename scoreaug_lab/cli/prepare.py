"""`scoreaug-lab prepare [NOTEBOOK ...]`: train every run the walkthrough notebooks need into the run store,
so that a class (or a JupyterHub of students sharing one store) opens notebooks that only load."""
from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

from .runner import evaluate_many, nothing_to_do, run_commands, train_config_of


def add_prepare_parser(sub) -> None:
    p = sub.add_parser(
        "prepare", help="train every run the notebooks need into the run store (resumable; e.g. the night before)",
        description="Train every run the walkthrough notebooks ask for, at their teaching (or test) size, into the run "
                    "store (--runs, else $SCOREAUG_RUNS, else runs/store in the project), in worker processes of one "
                    "thread each, with a progress bar and a time estimate; notebook 06 also gets its trainings, "
                    "classifier and evaluations. Resumable: finished runs are reused and a partial one resumes, so an "
                    "interrupted prepare is simply run again. Notebooks then load from the store and train nothing "
                    "(open them with the same SCOREAUG_RUNS and SCOREAUG_SIZE).")
    _add_options(p)


def _add_options(p) -> None:
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                   help="notebooks by number or name: 00 01 04 05 06 07 (02 and 03 train nothing); default: all")
    p.add_argument("--size", choices=("teach", "test"), default=None,
                   help="the notebooks' size (default $SCOREAUG_SIZE, else teach)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel worker processes, one torch thread each (default: one per core)")
    p.add_argument("--runs", default=None, metavar="DIR",
                   help="the run store folder (default $SCOREAUG_RUNS, else runs/store in the project)")
    p.add_argument("--list", action="store_true", help="list the runs and commands each notebook needs, and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_prepare(args) -> int:
    from ..course.lessons import LESSONS, get
    from ..presets import notebook_size
    from .. import validation as V
    from ..runs.store import config_key, get_store
    from .common import UsageError

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.runs is not None:
        V.folder_path("--runs", args.runs)     # not '' (the working directory), not a file or under one
    size = args.size or notebook_size()
    names = args.notebooks or list(LESSONS)
    lessons = [get(name, size) for name in names]      # a clear error for an unknown notebook, before any work
    if args.list:
        store = get_store(args.runs)
        for lesson in lessons:
            configs, commands = lesson.configs(), lesson.commands(store.root)
            missing = len(store.pending(configs))
            distinct = len({config_key(c) for c in configs})
            print(f"{lesson.notebook}: {distinct} store run(s), {missing} missing"
                  + (f"; {len(commands)} command(s)" if commands else ""))
            for command in commands:
                print("    scoreaug-lab " + " ".join(command))
        return 0
    summary = prepare(names, size, args.runs, args.workers, progress=not args.no_progress,
                      log=lambda message: print(message, file=sys.stderr, flush=True))
    print(f"store {summary['root']}: {summary['runs']} runs ready ({summary['trained']} trained now)"
          + (f", notebook 06's {summary['commands']} commands done" if summary["commands"] else "")
          + f", {summary['seconds']:.0f} s. Open the notebooks with SCOREAUG_RUNS={summary['root']} "
          f"SCOREAUG_SIZE={size} (the defaults when these are the project's runs/store and teach).")
    return 0


def prepare(names=None, size: str | None = None, root=None, workers: int | None = None, progress: bool = True,
            log=print) -> dict:
    """Train every run the notebooks `names` (default: all) need into the store at `root` (default
    $SCOREAUG_RUNS, else the project's runs/store): the store runs of all of them at once in `workers`
    processes, then notebook 06's commands (its trainings and classifier in parallel, then its evaluations).
    Resumable: what is finished is reused, a partial run resumes. Returns a summary dict."""
    from .. import validation as V
    from ..course.lessons import LESSONS, CifarScale, get
    from ..runs.store import check_training_allowed, estimated_seconds, get_store, resolve_workers
    chosen = [get(n, size) for n in (names or list(LESSONS))]
    store = get_store(None if root is None else V.folder_path("the run store folder", root))
    configs, seen = [], set()
    for lesson in chosen:
        for config in lesson.configs():
            key = json.dumps(config.to_dict(), sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                configs.append(config)
    todo = store.pending(configs)
    if todo:      # SCOREAUG_FORBID_TRAINING: one line before any other
        check_training_allowed(f"{len(todo)} run(s) of {', '.join(lesson.notebook for lesson in chosen)}")
    commands = [c for lesson in chosen for c in lesson.commands(store.root)]
    train_cmds = [c for c in commands if c[0] in ("train", "classifier") and not nothing_to_do(c)
                  and not (c[0] == "classifier" and Path(c[c.index("--out") + 1]).is_file())]
    n_workers = resolve_workers(workers, max(1, len(todo) + len(train_cmds)), store.device)
    estimate = (sum(estimated_seconds(c) for c in todo)
                + sum(estimated_seconds(train_config_of(c)) if c[0] == "train" else 60.0 for c in train_cmds))
    log(f"prepare {', '.join(lesson.notebook for lesson in chosen)} at size {chosen[0].size if chosen else size} "
        f"into {store.root}: {len(configs) - len(todo)} of {len(configs)} store runs ready, {len(todo)} to train"
        + (f", {len(commands)} commands of notebook 06" if commands else "")
        + f"; {n_workers} worker process(es); estimated {estimate / n_workers / 60:.1f} min on a 2-core CPU "
        "(evaluations not counted)")
    clock = time.perf_counter()
    if todo:
        store.get_many(todo, workers=n_workers, progress=progress, desc="prepare")
    requests = [r for lesson in chosen for r in lesson.sample_requests()]
    if requests:
        log(f"prepare: drawing the samples the notebooks show ({len(requests)} sets), saved in the run folders")
        for config, n in requests:
            store.samples(store.get(config), n)
    for lesson in chosen:
        if isinstance(lesson, CifarScale):
            _prepare_cifar(lesson, store.root, workers)
    seconds = time.perf_counter() - clock
    log(f"prepared in {seconds:.0f} s: {store.root}")
    return {"root": str(store.root), "runs": len(configs), "trained": len(todo), "commands": len(commands),
            "seconds": seconds}


def _prepare_cifar(lesson, root, workers) -> None:
    """Notebook 06: its trainings and classifier together, then its evaluations, with its exact arguments."""
    classifier = lesson.classifier_command(root=root)
    jobs = list(lesson.train_commands(root=root).values())
    if not lesson.classifier_path(root).is_file():
        jobs.append(classifier)
    with contextlib.redirect_stdout(sys.stderr):
        run_commands(jobs, workers, quiet=True)
        fid = lesson.fid_kind()[0]
        evaluate_many({(v, s): (lesson.run_dir(v, s, root), lesson.evaluate_command(lesson.run_dir(v, s, root), fid,
                                                                                    root=root))
                       for v in lesson.variants for s in lesson.seeds}, workers)


def main(argv=None) -> int:
    """`python -m scoreaug_lab.cli.prepare [NOTEBOOK ...] [options]`: the same command on its own."""
    import os

    from .common import PROG, Parser, exit_code
    parser = Parser(prog=f"{PROG} prepare", description=__doc__.splitlines()[0])
    _add_options(parser)
    try:
        return cmd_prepare(parser.parse_args(argv))
    except KeyboardInterrupt:
        print(f"{PROG} prepare: interrupted (finished runs are kept; run it again to resume)", file=sys.stderr)
        return 130
    except Exception as err:    # one line: 2 for bad input, 1 for the machine (common.exit_code)
        code = exit_code(err)
        if code is None or os.environ.get("SCOREAUG_DEBUG"):
            raise
        print(f"{PROG} prepare: error: {str(err).splitlines()[0] if str(err) else type(err).__name__}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
