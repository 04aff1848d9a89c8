"""scoreaug-lab course generate | autograde | check: the nbgrader course, as an instructor runs it.

    scoreaug-lab course generate [NAME ...] --course DIR      # nbgrader generate_assignment: release/ (and where
                                                              #   nbgrader release_assignment would send them)
    scoreaug-lab course autograde NAME [--student S] --course DIR [--unsandboxed]
    scoreaug-lab course check [NAME ...] --course DIR         # right, wrong and twin catalogues, in the sandbox
    scoreaug-lab course hub --students N [--store DIR]        # a class on a local JupyterHub (as root), until Ctrl-C
"""
from __future__ import annotations

import os

from .common import UsageError

KIND_NAMES = ("right", "wrong", "twin")


def add_course_parser(sub) -> None:
    course = sub.add_parser("course", help="the nbgrader course: student versions, sandboxed autograding, the "
                                           "graders' own tests",
                            description="The nbgrader course's own steps. nbgrader's commands (release_assignment, "
                                        "collect, generate_feedback, release_feedback, export) run in the course "
                                        "folder, whose nbgrader_config.py names the exchange; the Formgrader is the "
                                        "tab of a JupyterLab started there (make formgrader). The course "
                                        "folder's README.md gives the whole cycle.")
    commands = course.add_subparsers(dest="course_command", metavar="{generate,autograde,check,hub}")
    where = dict(default=None, help="the course folder (holds nbgrader_config.py and source/; default "
                                    "$SCOREAUG_COURSE, else the current folder)")
    generate = commands.add_parser("generate", help="the student versions of the assignments (release/)")
    generate.add_argument("names", nargs="*", help="assignments (default: all)")
    generate.add_argument("--course", **where)
    autograde = commands.add_parser("autograde", help="nbgrader autograde, each submission in a bubblewrap "
                                                      "sandbox and judged outside it")
    autograde.add_argument("name", help="the assignment")
    autograde.add_argument("--student", default=None, help="one student (default: every submission)")
    autograde.add_argument("--course", **where)
    autograde.add_argument("--unsandboxed", action="store_true",
                           help="grade without the sandbox where bwrap is missing: the students' code then runs "
                                "with your rights and can read and change the course")
    check = commands.add_parser("check", help="grade the catalogues of right, wrong and cheating answers: "
                                              "every right answer full marks, every other its question's 0")
    check.add_argument("names", nargs="*", help="assignments (default: all)")
    check.add_argument("--course", **where)
    check.add_argument("--kinds", default=",".join(KIND_NAMES), help="right,wrong,twin (default: all three)")
    check.add_argument("--unsandboxed", action="store_true", help="run the catalogues without the sandbox")


    hub = commands.add_parser("hub", help="a class on a local JupyterHub: real Unix users, the shared run store, "
                                          "nbgrader's exchange (as root; runs until Ctrl-C, then removes it all)")
    hub.add_argument("--students", type=int, default=3, help="how many student accounts (default 3)")
    hub.add_argument("--store", default=None, help="a prepared run store to share (default $SCOREAUG_RUNS, else "
                                                   "runs/store in the project; fill it with `scoreaug-lab prepare`)")
    hub.add_argument("--port", type=int, default=8000, help="the hub's port on 127.0.0.1 (default 8000)")
    hub.add_argument("--prefix", default="scoreaug", help="account names: PREFIX-teacher, PREFIX-s01, ...")
    hub.add_argument("--mem", type=float, default=3.0, help="GiB of memory per student (cgroups; default 3)")
    hub.add_argument("--cpus", type=float, default=1.0, help="CPU cores per student (cgroups; default 1)")
    hub.add_argument("--cull-minutes", type=float, default=60, help="stop servers idle this long (default 60)")
    hub.add_argument("--course", **where)
    hub.add_argument("--remove", action="store_true", help="remove what a hub of this prefix left (after a crash)")


def _names(root, names) -> list[str]:
    from ..course.layout import assignment_names, check_assignment

    return [check_assignment(root, n) for n in names] if names else assignment_names(root)


def cmd_course(args) -> int:
    from ..course.layout import course_root

    if args.course_command is None:
        raise UsageError("course needs a command: generate, autograde, check or hub")
    if args.course_command == "hub":
        return _hub(args)
    root = course_root(args.course)
    return {"generate": _generate, "autograde": _autograde, "check": _check}[args.course_command](root, args)


def _generate(root, args) -> int:
    from ..course.commands import exchange_root, generate

    names = _names(root, args.names)
    for path in generate(root, names):
        print(f"student version: {path}")
    exchange = exchange_root(root)
    if exchange is None:
        print(f"no exchange: {root / 'nbgrader_config.py'} sets no c.Exchange.root, so `nbgrader release_assignment` "
              "would use nbgrader's default /usr/local/share/nbgrader/exchange; name a folder you own there first")
    else:
        print(f"to release them through the exchange {exchange}: cd {root} && nbgrader release_assignment "
              f"{names[0] if len(names) == 1 else 'NAME'}")
    return 0


def _require_sandbox(unsandboxed: bool) -> None:
    from ..course.sandbox import unavailable_reason

    if not unsandboxed and (reason := unavailable_reason()):
        raise UsageError(f"cannot grade in a sandbox: {reason}; pass --unsandboxed to grade without one (the "
                         "students' code then runs with your rights)")


def _autograde(root, args) -> int:
    from ..course.commands import autograde

    _require_sandbox(args.unsandboxed)
    name = _names(root, [args.name])[0]
    who = args.student or "*"
    if not any((root / "submitted").glob(f"{who}/{name}")):
        raise UsageError(f"no submission of {name} in {root / 'submitted'}{'' if who == '*' else f' by {who}'}: "
                         f"`nbgrader collect {name}` (run in {root}) puts them there from the exchange, or place "
                         f"each at submitted/<student>/{name}/<notebook>.ipynb")
    output = autograde(root, name, student=args.student, unsandboxed=args.unsandboxed)
    held = [line for line in output.splitlines() if "held for review" in line or "HiddenTestFailed" in line]
    print(f"autograded {name} in {root} ({'unsandboxed' if args.unsandboxed else 'sandboxed'}); grades in "
          f"{root / 'gradebook.db'}; `nbgrader export` writes grades.csv")
    for line in held:
        print(line)
    return 0


def _hub(args) -> int:
    import signal
    import time

    from ..course.hub import ClassHub, remove_hub
    from ..runs.keys import default_root

    if args.remove:
        remove_hub(args.prefix)
        print(f"removed the accounts and hub folder of prefix {args.prefix!r} (what existed)")
        return 0
    if not 1 <= args.students <= 99 or not 1 <= args.port <= 65535:
        raise UsageError(f"--students takes 1 to 99 and --port 1 to 65535, got {args.students} and {args.port}")
    signal.signal(signal.SIGTERM, signal.default_int_handler)      # `kill` stops the class as Ctrl-C does
    try:
        with ClassHub(args.students, args.prefix, args.port, store_from=args.store or default_root(),
                      course=args.course, mem_gb=args.mem, cpus=args.cpus, cull_minutes=args.cull_minutes) as hub:
            print(hub.banner(), flush=True)
            print("Ctrl-C stops the hub and removes the accounts, their homes and the hub folder.", flush=True)
            while hub.process.poll() is None:
                hub.seal_store()
                time.sleep(5)
            raise OSError(f"the hub stopped by itself ({hub.process.returncode}): {hub.log_tail()}")
    except KeyboardInterrupt:
        print("hub stopped; the class's accounts, homes, processes and hub folder are removed", flush=True)
        return 0


def _check(root, args) -> int:
    from ..course.catalogues import grade_catalogue

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or set(kinds) - set(KIND_NAMES):
        raise UsageError(f"--kinds takes some of {', '.join(KIND_NAMES)}, got {args.kinds!r}")
    _require_sandbox(args.unsandboxed)
    os.environ.setdefault("SCOREAUG_SIZE", "test")          # only the test cells matter here
    failed = 0
    for name in _names(root, args.names):
        for kind in kinds:
            report = grade_catalogue(root, name, kind, sandboxed=not args.unsandboxed)
            print("\n".join(report.lines()), flush=True)
            failed += len(report.results) - report.passed + bool(report.key.lost())
    return 1 if failed else 0


__all__ = ["add_course_parser", "cmd_course"]
