"""CLI: ``import FILE --project NAME`` — a file made into a project by a background import job, as the app's
Import tab does (a job, so above the store it writes to), or (``--labels``) a feedback file's labels added to an
existing project as LLM labels; ``queue --project NAME`` — its queue strategy, the order computed by the selection
job; ``runner`` — the background runner's watch without the app (out-of-date queue orders recomputed);
``winrate crossed|leaderboard`` — win-rates over the folders that `evaluate` and best-of-n jobs write (their RM
is read from the job's settings)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path


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
    p.add_argument("--labels", action="store_true", help="store a rating or ranking feedback file's labels (a judge's "
                                                         "output) as LLM labels (--source) of the existing project's "
                                                         "matching tasks; its queue order is then recomputed by the "
                                                         "runner (the app, or `runner`)")
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
    _register_winrate_runs(sub)

    p = sub.add_parser("runner", help="the background runner without the app: recompute every out-of-date queue order "
                                      "(new LLM labels; human answers under coverage) until stopped, as the app does")
    p.add_argument("--interval", type=float, default=None, help="seconds between two looks (default 5)")
    p.add_argument("--once", action="store_true", help="look once, compute what is due here, and exit")
    p.add_argument("--db", help=DB_HELP)
    p.set_defaults(func=_runner)


DB_HELP = ("SQLAlchemy URL of the store (default: $SPARSE_FEEDBACK_DB, else sparse_feedback.db under "
           "$SPARSE_FEEDBACK_HOME)")


def _strategy_arguments(p: argparse.ArgumentParser, default) -> None:
    from sparse_feedback.store.limits import STRATEGIES

    p.add_argument("--strategy", choices=STRATEGIES, default=default,
                   help="which items annotators see first: random (as before), disagreement (the LLM's labels "
                        "contradict each other), uncertainty (smallest reward margin; needs --reward-model), coverage "
                        "(instructions with the fewest human answers)")
    p.add_argument("--reward-model", help="trained reward-model directory (for --strategy uncertainty)")


@contextlib.contextmanager
def _local(file: str):
    """``(local path, name shown)`` of an import's file: a Hub split is fetched into a local parquet file first."""
    import tempfile

    from sparse_feedback.formats.hub import fetch_table, is_hub

    with tempfile.TemporaryDirectory(prefix="sf-hub-") as fetched:
        yield (fetch_table(file, fetched), file) if is_hub(file) else (file, None)


def _import(args) -> int:
    if args.gold:
        return _import_gold(args)
    if args.labels:
        return _import_labels(args)
    from tqdm import tqdm

    from sparse_feedback.errors import EXIT_BAD_INPUT
    from sparse_feedback.jobs.imports import import_file
    from sparse_feedback.store import Store

    with _local(args.file) as (path, name):
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


def _import_labels(args) -> int:
    """A feedback file's labels stored as LLM labels of an existing project: one short write, nothing computed
    here (the store marks the queue order stale; the runner recomputes it)."""
    from sparse_feedback.errors import InputError
    from sparse_feedback.jobs.imports import read_named
    from sparse_feedback.store import Store

    with _local(args.file) as (path, name):
        upload = read_named(path, args.kind, name)
    shown = name or args.file
    if upload.ratings is None and upload.rankings is None:
        raise InputError(shown, f"read as {upload.kind}: --labels needs a rating or ranking feedback file")
    store = Store(args.db)
    try:
        setting = store.queue_strategy(args.project)  # an unknown project is refused before anything is written
        stored = sum(importer(args.project, frame, args.source) for frame, importer in (
            (upload.ratings, store.import_llm_ratings), (upload.rankings, store.import_llm_rankings))
            if frame is not None)
    finally:
        store.close()
    if not stored:
        raise InputError(shown, f"no row matches a task of project {args.project!r} (the instruction, input and "
                                "responses must be the project's)")
    after = "; its queue order is recomputed by the runner" if setting["strategy"] == "disagreement" else ""
    print(f"{args.project}: {stored} LLM labels stored as {args.source!r}{after}")
    return 0


def _runner(args) -> int:
    from sparse_feedback.jobs import watch
    from sparse_feedback.store import Store

    store = Store(args.db)
    if args.once:
        print(f"{len(watch.sweep(store, in_place=True))} queue order(s) recomputed")
        return 0
    interval = args.interval or watch.INTERVAL_S
    print(f"runner: looking for out-of-date queue orders every {interval:g} s (Ctrl+C stops)", flush=True)
    watch.Watch(store, interval, on_start=lambda ids: print(f"started queue order job(s) {ids}", flush=True)).run()
    return 0


# ------------------------------------------------------------------ winrate over evaluated runs

def _register_winrate_runs(sub: argparse._SubParsersAction) -> None:
    from sparse_feedback.analysis.cli import subcommands

    wsub = subcommands(sub, "winrate")
    _runs_command(wsub, "crossed", "rows = the RM each run was reranked with, columns = evaluation protocol, with "
                  "the inversion and its paired-bootstrap interval", "[ROW=]DIR",
                  "a job's runs named by their RM", ("instructions", 2000), _winrate_crossed)
    wl = _runs_command(wsub, "leaderboard", "Bradley-Terry scores of several runs (ties half a win) beside their "
                       "mean rating", "[NAME=]DIR", "against one shared reference", ("comparisons", 1000),
                       _winrate_leaderboard)
    wl.add_argument("--versus", nargs="+", default=[], metavar="A,B=FILE",
                    help="pairwise feedback of run A (output1) against run B (output2)")


def _runs_command(wsub, name: str, help: str, metavar: str, runs_help: str, resampled: tuple[str, int], func):
    """A ``winrate`` sub-command over several evaluated runs, with a seeded bootstrap."""
    what, default = resampled
    p = wsub.add_parser(name, help=help)
    p.add_argument("--runs", nargs="+", required=True, metavar=metavar,
                   help=f"folders written by `evaluate` or a best-of-n job, {runs_help}")
    p.add_argument("--bootstrap", type=int, default=default, help=f"resamples of the {what} (default {default})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=func)
    return p


def named_runs(values: list[str]) -> dict:
    """``[NAME=]DIR`` evaluation folders as per-instruction tables; a best-of-n job's run is named by its RM."""
    from sparse_feedback.errors import InputError
    from sparse_feedback.jobs.best_of_n import evaluated_rm
    from sparse_feedback.report.inputs import load_evaluation

    runs = {}
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep or not name or Path(value).exists():
            name, folder = None, value
        name = name or evaluated_rm(Path(folder)) or Path(folder).name
        if name in runs:
            raise InputError(folder, f"two runs named {name!r}: name them ROW=DIR")
        runs[name] = load_evaluation(folder)
    return runs


def _frame_json(frame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


def _winrate_crossed(args) -> int:
    from sparse_feedback.analysis.crossed import crossed_table, describe_inversion, inversion_pairs
    from sparse_feedback.report.views import crossed_cells, pair_rows

    runs = named_runs(args.runs)
    table, pairs = crossed_table(runs), inversion_pairs(runs, args.bootstrap, args.seed)
    flag = describe_inversion(pairs)
    if args.json:
        print(json.dumps({"crossed": _frame_json(table), "pairs": _frame_json(pairs), "flag": flag}))
        return 0
    print(crossed_cells(table).to_string(index=False))
    print(flag)
    if len(pairs):
        print(pair_rows(pairs).to_string(index=False))
    return 0


def _winrate_leaderboard(args) -> int:
    from sparse_feedback.analysis.leaderboard import (
        comparisons_from_runs, describe_orderings, leaderboard, mean_ratings,
    )
    from sparse_feedback.errors import InputError
    from sparse_feedback.formats import read_ranking_feedback
    from sparse_feedback.report.views import leaderboard_rows

    runs = named_runs(args.runs)
    versus = []
    for value in args.versus:
        names, sep, path = value.partition("=")
        a, comma, b = names.partition(",")
        if not sep or not comma or not a or not b:
            raise InputError(value, "--versus takes A,B=FILE (run A's outputs are output1)")
        versus.append((a, b, read_ranking_feedback(path)))
    table = leaderboard(comparisons_from_runs(runs, versus), mean_ratings(runs), n_boot=args.bootstrap,
                        seed=args.seed)
    if args.json:
        print(json.dumps({"leaderboard": _frame_json(table), "flag": describe_orderings(table)}))
    else:
        print(leaderboard_rows(table).to_string(index=False))
        print(describe_orderings(table))
    return 0
