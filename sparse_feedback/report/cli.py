"""CLI: ``report`` — the dashboards' analyses as one self-contained HTML file; ``export`` — feedback as
reward-model training data, to a file or the Hub with a dataset card."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

MAX_SETS = 9  # --ratings/--rankings, then --ratings2/--rankings2 ... --ratings9/--rankings9


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write a self-contained HTML report (consistency, disagreements, agreement, bias, win-rates)",
        description="Feedback sets: a file with an 'annotator' column is human feedback; any other is an LLM "
                    "judge's. Candidate runs are named NAME=PATH (or by file name); the i-th --winrate-feedback "
                    "without a name belongs to the i-th --candidate-ratings.")
    p.add_argument("--ratings", help="rating feedback (set 1)")
    p.add_argument("--rankings", help="ranking feedback (set 1)")
    for i in range(2, MAX_SETS + 1):
        shown = i == 2
        p.add_argument(f"--ratings{i}", help="rating feedback of set 2 (up to --ratings9)" if shown
                       else argparse.SUPPRESS)
        p.add_argument(f"--rankings{i}", help="ranking feedback of set 2 (up to --rankings9)" if shown
                       else argparse.SUPPRESS)
    p.add_argument("--reference-ratings", help="ratings of the reference outputs (win-rates)")
    p.add_argument("--candidate-ratings", nargs="+", default=[], metavar="[NAME=]PATH",
                   help="ratings of each candidate run's outputs")
    p.add_argument("--winrate-feedback", nargs="+", default=[], metavar="[NAME=]PATH",
                   help="pairwise feedback with output1 = reference, output2 = candidate")
    p.add_argument("--output", required=True, help="HTML file to write")
    p.add_argument("--title", default="sparse-feedback report")
    p.add_argument("--json", action="store_true", help="also print the report's numbers as one JSON object")
    p.set_defaults(func=_report)
    _register_export(sub)


def feedback_paths(args) -> list[tuple[str | None, str | None]]:
    """The (ratings, rankings) file pairs given, set 1 first."""
    pairs = [(getattr(args, f"ratings{s}"), getattr(args, f"rankings{s}"))
             for s in ["", *map(str, range(2, MAX_SETS + 1))]]
    return [p for p in pairs if any(p)]


def _report(args) -> int:
    from sparse_feedback.errors import InputError
    from sparse_feedback.formats import atomic_path
    from sparse_feedback.report.build import build_report
    from sparse_feedback.report.html import render_html
    from sparse_feedback.report.inputs import load_feedback, load_runs

    feedback = load_feedback(feedback_paths(args))
    runs = load_runs(args.reference_ratings, args.candidate_ratings, args.winrate_feedback)
    if not len(feedback.ratings) and not len(feedback.rankings) and not runs:
        raise InputError(args.output, "nothing to report: give --ratings/--rankings or win-rate inputs")
    report = build_report(feedback, runs)
    with atomic_path(args.output) as tmp:
        Path(tmp).write_text(render_html(report, args.title), encoding="utf-8")
        os.chmod(tmp, 0o644)  # a report is for sharing
    if args.json:
        print(json.dumps(report.numbers(), default=float))
    else:
        print(f"wrote {args.output}")
    return 0


# ------------------------------------------------------------------ export

def _register_export(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("export", help="export feedback as reward-model training data")
    esub = e.add_subparsers(dest="what", required=True)
    pairs = esub.add_parser("rm-pairs", help="ranking feedback → preference pairs (equal rows dropped)")
    pairs.add_argument("--rankings", required=True)
    pairs.add_argument("--format", choices=["trl", "seed-json", "hf"], default="trl",
                       help="trl: prompt/chosen/rejected table; seed-json: the original's JSON; hf: datasets dir")
    pairs.add_argument("--output", help="the file or folder to write (optional with --push-to-hub)")
    pairs.add_argument("--ratings", help="rating feedback of the same responses: the card states the consistency")
    add_push_arguments(pairs)
    pairs.set_defaults(func=_rm_pairs)
    ratings = esub.add_parser("rm-ratings", help="rating feedback → prompt/response/rating table")
    ratings.add_argument("--ratings", required=True)
    ratings.add_argument("--output", help="the file or folder to write (optional with --push-to-hub)")
    ratings.add_argument("--rankings", help="ranking feedback of the same responses: the card states the consistency")
    add_push_arguments(ratings)
    ratings.set_defaults(func=_rm_ratings)


def add_push_arguments(parser: argparse.ArgumentParser) -> None:
    """``--push-to-hub OWNER/NAME`` and its options (token: ``HF_TOKEN`` or ``hf auth login``)."""
    parser.add_argument("--push-to-hub", metavar="OWNER/NAME", help="also push to this Hub dataset repo (parquet + "
                        "dataset card); the token comes from HF_TOKEN or `hf auth login`")
    parser.add_argument("--private", action="store_true", help="create the Hub repo private")
    parser.add_argument("--revision", help="push to this branch (created when missing; default main)")
    parser.add_argument("--license", default="other", help="the card's license id (default: other)")
    parser.add_argument("--source", choices=["human", "llm"], help="who judged (default: from the columns: "
                        "annotator = human, model/orders = llm)")


def _need_destination(args) -> None:
    from sparse_feedback.errors import InputError

    if not args.output and not args.push_to_hub:
        raise InputError("export", "name an --output, a --push-to-hub repo, or both")


def _push(args, table, feedback, what: str, protocol: str, aggregation: str, other=None) -> None:
    """Push ``table`` with its card; the consistency figure when the other protocol's feedback is given."""
    from sparse_feedback.formats.hub import push_dataset
    from sparse_feedback.report.cards import consistency_figure, dataset_facts

    figure = None
    if other is not None:
        ratings, rankings = (feedback, other) if protocol == "ratings" else (other, feedback)
        figure = consistency_figure(ratings, rankings, against="the --ratings/--rankings file given")
    facts = dataset_facts(args.push_to_hub, table, what=what, protocol=protocol, aggregation=aggregation,
                          source=args.source, judged=feedback, consistency_with=figure, license=args.license)
    print(push_dataset(table, facts, private=args.private, revision=args.revision).line(what))


def _rm_pairs(args) -> int:
    from sparse_feedback import formats

    _need_destination(args)
    feedback = formats.read_ranking_feedback(args.rankings)
    pairs = formats.rm_pairs(feedback)
    dropped = len(feedback) - len(pairs)
    if args.output:
        if args.format == "seed-json":
            formats.write_json(formats.rm_pairs_seed_json(feedback), args.output)
        else:
            formats.write_table(pairs, args.output, "hf" if args.format == "hf" else None)
        print(f"wrote {len(pairs)} preference pairs ({dropped} equal dropped) to {args.output}")
    if args.push_to_hub:
        rule = (" (LLM rankings: one label per pair by the both-orders rule, see the orders column of the feedback)"
                if "orders" in feedback.columns else "")
        other = formats.read_rating_feedback(args.ratings) if args.ratings else None
        _push(args, pairs, feedback, "TRL preference pairs", "rankings",
              f"one row per ranked pair of {args.rankings}, (a)/(b) made chosen/rejected; {dropped} equal rows "
              f"dropped{rule}", other)
    return 0


def _rm_ratings(args) -> int:
    from sparse_feedback import formats

    _need_destination(args)
    feedback = formats.read_rating_feedback(args.ratings)
    table = formats.rm_ratings(feedback)
    if args.output:
        formats.write_table(table, args.output)
        print(f"wrote {len(table)} rated responses to {args.output}")
    if args.push_to_hub:
        other = formats.read_ranking_feedback(args.rankings) if args.rankings else None
        _push(args, table, feedback, "rated responses", "ratings",
              f"one row per rated response of {args.ratings} (duplicates dropped, the first counts)", other)
    return 0
