"""``sparse-feedback`` / ``python -m sparse_feedback``: a thin caller of the stage modules.

Each stage registers its own sub-commands in ``<stage>/cli.py`` through ``register(subparsers)``;
handlers import heavy libraries (torch, transformers) lazily so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys

from sparse_feedback import __version__
from sparse_feedback.device import DeviceError
from sparse_feedback.analysis import cli as analysis_cli
from sparse_feedback.errors import EXIT_BAD_INPUT, InputError, UserError
from sparse_feedback.evaluate import cli as evaluate_cli
from sparse_feedback.formats import cli as formats_cli
from sparse_feedback.generate import cli as generate_cli
from sparse_feedback.jobs import cli as jobs_cli
from sparse_feedback.judge import cli as judge_cli
from sparse_feedback.pipeline import cli as pipeline_cli
from sparse_feedback.report import cli as report_cli
from sparse_feedback.rerank import cli as rerank_cli
from sparse_feedback.reward import cli as reward_cli
from sparse_feedback.store import cli as store_cli
from sparse_feedback.study import cli as study_cli

# The stage order of the data flow; each module exposes register(subparsers).
COMMAND_MODULES = [formats_cli, generate_cli, judge_cli, store_cli, analysis_cli, study_cli, reward_cli, rerank_cli,
                   evaluate_cli, report_cli, pipeline_cli, jobs_cli]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparse-feedback",
        description="Collect ratings and rankings feedback, compare the protocols, train and evaluate reward models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, DeviceError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:  # an output path that cannot be written: also the user's to fix, also one line
        print(f"error: {InputError(err.filename or '', err.strerror or str(err))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
