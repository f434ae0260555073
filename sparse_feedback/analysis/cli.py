"""CLI: ``consistency`` and ``winrate ratings|rankings|crossed|leaderboard``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


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
