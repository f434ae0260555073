"""CLI: ``tasks`` (generation → rating/ranking tasks). ``export`` is in ``report/cli.py``: its dataset cards state
the consistency, which the report stage computes."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="turn a generation file into rating or ranking tasks")
    p.add_argument("protocol", choices=["ratings", "rankings"])
    p.add_argument("--input", required=True, help="generation file: {instruction, input, responses}")
    p.add_argument("--output", required=True, help="tasks file (.csv, .json, .jsonl, .parquet or a directory)")
    p.set_defaults(func=_tasks)


def _tasks(args) -> int:
    from sparse_feedback import formats

    gen = formats.read_generation(args.input)
    table = formats.rating_tasks(gen) if args.protocol == "ratings" else formats.ranking_tasks(gen)
    formats.write_table(table, args.output)
    print(f"wrote {len(table)} {args.protocol} tasks from {len(gen)} instructions to {args.output}")
    return 0
