"""`scoreaug-lab prepare [NOTEBOOK ...]`: train every run the walkthrough notebooks need into the run store,
so that a class (or a JupyterHub of students sharing one store) opens notebooks that only load."""
from __future__ import annotations

import sys


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
    from ..course.prepare import prepare
    from ..course.notebook import notebook_size
    from ..runs.store import config_key, get_store
    from .common import UsageError

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
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


def main(argv=None) -> int:
    """`python -m scoreaug_lab.cli.prepare [NOTEBOOK ...] [options]`: the same command on its own."""
    import os

    from .common import PROG, Parser, UsageError
    parser = Parser(prog=f"{PROG} prepare", description=__doc__.splitlines()[0])
    _add_options(parser)
    try:
        return cmd_prepare(parser.parse_args(argv))
    except (UsageError, ValueError, FileNotFoundError) as err:
        if os.environ.get("SCOREAUG_DEBUG"):
            raise
        print(f"{PROG} prepare: error: {str(err).splitlines()[0] if str(err) else type(err).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} prepare: interrupted (finished runs are kept; run it again to resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
