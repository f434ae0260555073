"""CLI: ``report`` — the dashboards' analyses as one self-contained HTML file."""

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
