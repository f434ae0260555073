"""CLI: ``import FILE --project NAME`` — a file made into a project by a background import job, as the app's
Import tab does (a job, so above the store it writes to)."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="make a project of a file (generation, rating/ranking tasks or feedback), "
                                      "written by a background import job as the app's Import tab does")
    p.add_argument("file", help="CSV (with or without header), JSON, JSONL, parquet, a zipped dataset folder, or a "
                                "Hub dataset hf://datasets/OWNER/NAME[/CONFIG][@REVISION][:SPLIT]")
    p.add_argument("--project", required=True, help="the new project's name")
    p.add_argument("--kind", default="auto", help="auto (from the columns), generation, rating feedback, "
                                                  "ranking feedback, rating tasks or ranking tasks")
    p.add_argument("--overlap", type=int, default=1, help="annotators per task")
    p.add_argument("--source", default="llm", help="source name under which a feedback file's labels are stored")
    p.add_argument("--gold", action="store_true", help="mark the tasks of an existing project that a rating or ranking "
                                                       "feedback file names as gold, with its labels as the answers")
    p.add_argument("--as", dest="actor", default=None, help="with --gold: who marks them, for the log")
    p.add_argument("--db", help="SQLAlchemy URL of the store (default: $SPARSE_FEEDBACK_DB, else "
                                "sparse_feedback.db under $SPARSE_FEEDBACK_HOME)")
    p.set_defaults(func=_import)


def _import(args) -> int:
    if args.gold:
        return _import_gold(args)
    import tempfile

    from tqdm import tqdm

    from sparse_feedback.errors import EXIT_BAD_INPUT
    from sparse_feedback.formats.hub import fetch_table, is_hub
    from sparse_feedback.jobs.imports import import_file
    from sparse_feedback.store import Store

    with tempfile.TemporaryDirectory(prefix="sf-hub-") as fetched:
        # a Hub split is fetched into a local parquet file first: the import job reads a file
        path, name = (fetch_table(args.file, fetched), args.file) if is_hub(args.file) else (args.file, None)
        store = Store(args.db)
        with tqdm(unit=" items", desc="import") as bar:
            def progress(done: int, total: int, stage: str) -> None:
                bar.set_description(stage)
                bar.total = total
                bar.update(done - bar.n)

            job = import_file(store, path, args.project, args.kind, args.overlap, args.source, name=name,
                              progress=progress)
        store.close()
    if job["status"] != "done":
        print(f"error: {job['message']}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{args.project}: {job['message']} (job {job['job']})")
    return 0


def _import_gold(args) -> int:
    import getpass

    from sparse_feedback.store import Store
    from sparse_feedback.study.gold import import_gold

    protocol, n = import_gold(Store(args.db), args.project, args.file, args.actor or getpass.getuser() or "cli")
    print(f"{args.project}: {n} {protocol} tasks marked gold")
    return 0
