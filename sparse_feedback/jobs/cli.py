"""CLI: ``import FILE --project NAME`` — a file made into a project by a background import job, as the app's
Import tab does (a job, so above the store it writes to); ``queue --project NAME`` — its queue strategy, the order
computed by the selection job."""

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
    _strategy_arguments(p, default="random")
    p.add_argument("--db", help=DB_HELP)
    p.set_defaults(func=_import)

    p = sub.add_parser("queue", help="a project's queue strategy: set it (the order is computed and stored) and show "
                                     "the next items with why each was chosen")
    p.add_argument("--project", required=True)
    _strategy_arguments(p, default=None)
    p.add_argument("--show", type=int, default=10, help="next items shown per protocol (default 10)")
    p.add_argument("--db", help=DB_HELP)
    p.set_defaults(func=_queue)


DB_HELP = ("SQLAlchemy URL of the store (default: $SPARSE_FEEDBACK_DB, else sparse_feedback.db under "
           "$SPARSE_FEEDBACK_HOME)")


def _strategy_arguments(p: argparse.ArgumentParser, default) -> None:
    from sparse_feedback.store.limits import STRATEGIES

    p.add_argument("--strategy", choices=STRATEGIES, default=default,
                   help="which items annotators see first: random (as before), disagreement (the LLM's labels "
                        "contradict each other), uncertainty (smallest reward margin; needs --reward-model), coverage "
                        "(instructions with the fewest human answers)")
    p.add_argument("--reward-model", help="trained reward-model directory (for --strategy uncertainty)")


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
    if args.strategy != "random":
        return _set_strategy(Store(args.db), args.project, args.strategy, args.reward_model, show=0)
    return 0


def _set_strategy(store, project: str, strategy: str | None, reward_model: str | None, show: int) -> int:
    """Set the strategy (when given), compute and store its order here (the CLI waits), print the next items."""
    from sparse_feedback.jobs.selection import next_items, run_selection, strategy_status

    try:
        if strategy:
            store.set_queue_strategy(project, strategy, reward_model=reward_model)
            run_selection(store, project, progress=None)
        print(strategy_status(store.queue_strategy(project)).replace("**", ""))
        if show:
            table = next_items(store, project, show)
            print(table.assign(reason=table["reason"].str.slice(0, 100)).drop(columns=["instruction", "response"])
                  .to_string(index=False))
    finally:
        store.close()
    return 0


def _queue(args) -> int:
    from sparse_feedback.store import Store

    return _set_strategy(Store(args.db), args.project, args.strategy, args.reward_model, args.show)


def _import_gold(args) -> int:
    import getpass

    from sparse_feedback.store import Store
    from sparse_feedback.study.gold import import_gold

    protocol, n = import_gold(Store(args.db), args.project, args.file, args.actor or getpass.getuser() or "cli")
    print(f"{args.project}: {n} {protocol} tasks marked gold")
    return 0
