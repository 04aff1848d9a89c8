"""Command line: scoreaug-lab train | sample | evaluate | classifier | demo | data | prepare | reproduce | course.

Bad options, a missing run or a hostile file print one line `scoreaug-lab: error: ...` and exit with code 2; a
failure of the machine (a full disk) prints one line and exits with 1 (set SCOREAUG_DEBUG=1 to see the traceback). One module per group of commands:
train.py (train), samples.py (sample, evaluate), tools.py (classifier, demo), data.py (data), prepare.py (prepare:
the runs of a class), reproduce.py (reproduce: the paper's claims), course.py (course: the nbgrader course,
sandboxed autograding).
"""
from __future__ import annotations

import os
import sys

from .common import PROG, Parser, UsageError, _key_values, exit_code  # noqa: F401 (_key_values re-exported)
from .course import add_course_parser, cmd_course
from .data import add_data_parser, cmd_data
from .prepare import add_prepare_parser, cmd_prepare
from .reproduce import add_reproduce_parser, cmd_reproduce
from .samples import add_evaluate_parser, add_sample_parser, cmd_evaluate, cmd_sample
from .tools import add_classifier_parser, add_demo_parser, cmd_classifier, cmd_demo
from .train import add_train_parser, cmd_train, train_config_from_args  # noqa: F401 (re-exported)

COMMANDS = {"train": cmd_train, "sample": cmd_sample, "evaluate": cmd_evaluate, "classifier": cmd_classifier,
            "demo": cmd_demo, "data": cmd_data, "prepare": cmd_prepare, "reproduce": cmd_reproduce,
            "course": cmd_course}


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="ScoreAug teaching toolkit: train, sample and evaluate diffusion "
                    "denoisers with augmentation in clean or noisy space.")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}", parser_class=Parser)
    for add in (add_train_parser, add_sample_parser, add_evaluate_parser, add_classifier_parser, add_demo_parser,
                add_data_parser, add_prepare_parser, add_reproduce_parser, add_course_parser):
        add(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (the last completed step is checkpointed)", file=sys.stderr)
        return 130
    except Exception as err:    # bad input: one line, exit 2; the machine (a full disk): exit 1 (common.exit_code)
        code = exit_code(err)
        if code is None:        # a bug: its traceback
            raise
        return _one_line(err, code)


def _one_line(err: BaseException, code: int) -> int:
    if os.environ.get("SCOREAUG_DEBUG"):
        raise err
    message = str(err).splitlines()[0] if str(err) else type(err).__name__
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code
