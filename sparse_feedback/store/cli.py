"""CLI: ``backup --output FILE`` — a consistent online copy of the annotation store (``import`` is a job:
:mod:`sparse_feedback.jobs.cli`)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="copy the annotation store while the app runs, into one SQLite file (SQLite or PostgreSQL store)")
    p.add_argument("--output", required=True, help="the copy (a SQLite file; open it as a store to restore)")
    p.add_argument("--db", help="SQLAlchemy URL of the store (default: $SPARSE_FEEDBACK_DB, else "
                                "sparse_feedback.db under $SPARSE_FEEDBACK_HOME)")
    p.set_defaults(func=_backup)


def _backup(args) -> int:
    from sparse_feedback.store.backup import backup

    print(backup(args.output, args.db))
    return 0
