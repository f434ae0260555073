"""CLI: ``tasks`` (generation → rating/ranking tasks) and ``export`` (feedback → reward-model data)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="turn a generation file into rating or ranking tasks")
    p.add_argument("protocol", choices=["ratings", "rankings"])
    p.add_argument("--input", required=True, help="generation file: {instruction, input, responses}")
    p.add_argument("--output", required=True, help="tasks file (.csv, .json, .jsonl, .parquet or a directory)")
    p.set_defaults(func=_tasks)

    e = sub.add_parser("export", help="export feedback as reward-model training data")
    esub = e.add_subparsers(dest="what", required=True)
    pairs = esub.add_parser("rm-pairs", help="ranking feedback → preference pairs (equal rows dropped)")
    pairs.add_argument("--rankings", required=True)
    pairs.add_argument("--format", choices=["trl", "seed-json", "hf"], default="trl",
                       help="trl: prompt/chosen/rejected table; seed-json: the original's JSON; hf: datasets dir")
    pairs.add_argument("--output", required=True)
    pairs.set_defaults(func=_rm_pairs)
    ratings = esub.add_parser("rm-ratings", help="rating feedback → prompt/response/rating table")
    ratings.add_argument("--ratings", required=True)
    ratings.add_argument("--output", required=True)
    ratings.set_defaults(func=_rm_ratings)


def _tasks(args) -> int:
    from sparse_feedback import formats

    gen = formats.read_generation(args.input)
    table = formats.rating_tasks(gen) if args.protocol == "ratings" else formats.ranking_tasks(gen)
    formats.write_table(table, args.output)
    print(f"wrote {len(table)} {args.protocol} tasks from {len(gen)} instructions to {args.output}")
    return 0


def _rm_pairs(args) -> int:
    from sparse_feedback import formats

    feedback = formats.read_ranking_feedback(args.rankings)
    pairs = formats.rm_pairs(feedback)
    if args.format == "seed-json":
        formats.write_json(formats.rm_pairs_seed_json(feedback), args.output)
    else:
        formats.write_table(pairs, args.output, "hf" if args.format == "hf" else None)
    print(f"wrote {len(pairs)} preference pairs ({len(feedback) - len(pairs)} equal dropped) to {args.output}")
    return 0


def _rm_ratings(args) -> int:
    from sparse_feedback import formats

    table = formats.rm_ratings(formats.read_rating_feedback(args.ratings))
    formats.write_table(table, args.output)
    print(f"wrote {len(table)} rated responses to {args.output}")
    return 0
