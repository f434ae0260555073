"""CLI: ``consistency`` and ``winrate ratings|rankings`` (``winrate crossed|leaderboard``, over evaluated runs, are
registered by ``jobs/cli.py``)."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("consistency", help="agreement between ratings and rankings feedback on the same pairs")
    c.add_argument("--ratings", required=True, help="rating feedback file")
    c.add_argument("--rankings", required=True, help="ranking feedback file")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=_consistency)

    w = sub.add_parser("winrate", help="win-rate of a candidate against a reference")
    wsub = w.add_subparsers(dest="protocol", required=True)
    wr = wsub.add_parser("ratings", help="from rating feedback of both sides, matched on instruction and input")
    wr.add_argument("--reference", required=True)
    wr.add_argument("--candidate", required=True)
    wr.add_argument("--json", action="store_true")
    wr.set_defaults(func=_winrate_ratings)
    wk = wsub.add_parser("rankings", help="from pairwise feedback (output1 = reference, output2 = candidate)")
    wk.add_argument("--feedback", required=True)
    wk.add_argument("--json", action="store_true")
    wk.set_defaults(func=_winrate_rankings)


def subcommands(sub: argparse._SubParsersAction, name: str) -> argparse._SubParsersAction:
    """The sub-commands of the command ``name`` registered before, for a later stage to add its own to it (the
    ``winrate`` commands over evaluated runs live with the jobs that write them)."""
    return next(a for a in sub.choices[name]._actions if isinstance(a, argparse._SubParsersAction))


def format_confusion(confusion: dict) -> str:
    """A readable table: rows = preference implied by ratings, columns = ranking feedback."""
    labels = list(confusion)
    lines = ["implied \\ ranked " + "".join(f"{f:>8}" for f in labels)]
    for i in labels:
        lines.append(f"{i:>16} " + "".join(f"{confusion[i][f]:>8}" for f in labels))
    return "\n".join(lines)


def _consistency(args) -> int:
    from sparse_feedback.analysis import consistency
    from sparse_feedback.formats import read_ranking_feedback, read_rating_feedback

    result = consistency(read_rating_feedback(args.ratings), read_ranking_feedback(args.rankings))
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        if not result.n_pairs:
            print("consistency undefined: no ranked pair has both responses rated")
            return 0
        print(f"consistency {result.consistency:.2f} % over {result.n_pairs} pairs")
        print(format_confusion(result.confusion))
    return 0


def _print(result, as_json: bool) -> int:
    print(json.dumps(result.to_dict()) if as_json else str(result))
    return 0


def _winrate_ratings(args) -> int:
    from sparse_feedback.analysis import win_rate_ratings
    from sparse_feedback.formats import read_rating_feedback

    return _print(win_rate_ratings(read_rating_feedback(args.reference), read_rating_feedback(args.candidate)),
                  args.json)


def _winrate_rankings(args) -> int:
    from sparse_feedback.analysis import win_rate_rankings
    from sparse_feedback.formats import read_ranking_feedback

    return _print(win_rate_rankings(read_ranking_feedback(args.feedback)), args.json)
