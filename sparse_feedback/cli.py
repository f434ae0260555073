"""``sparse-feedback`` / ``python -m sparse_feedback``: a thin caller of the stage modules.

Each stage registers its own sub-commands in ``<stage>/cli.py`` through ``register(subparsers)``;
handlers import heavy libraries (torch, transformers) lazily so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sparse_feedback import __version__
from sparse_feedback.device import DeviceError
from sparse_feedback.errors import EXIT_BAD_INPUT, InputError, UserError

# The stage order of the data flow; each module exposes register(subparsers).
COMMAND_MODULES = [
    "sparse_feedback.formats.cli",
    "sparse_feedback.generate.cli",
    "sparse_feedback.judge.cli",
    "sparse_feedback.store.cli",
    "sparse_feedback.analysis.cli",
    "sparse_feedback.reward.cli",
    "sparse_feedback.rerank.cli",
    "sparse_feedback.evaluate.cli",
    "sparse_feedback.report.cli",
    "sparse_feedback.pipeline_cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparse-feedback",
        description="Collect ratings and rankings feedback, compare the protocols, train and evaluate reward models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
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
