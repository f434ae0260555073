"""Judge a candidate against a reference under both protocols and compute both win-rates.

The judge is anything with ``ratings(tasks) -> rating feedback`` and ``rankings(tasks) -> ranking feedback``
(the judge engine's cached client, or a test double). Every table is written to ``output_dir`` so the
numbers can be recomputed with ``winrate ratings|rankings``.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from sparse_feedback.analysis import win_rate_rankings, win_rate_ratings
from sparse_feedback.evaluate.tasks import ranking_eval_tasks, rating_eval_tasks
from sparse_feedback.formats import claim_dir, write_json, write_table

EVAL_KIND = "evaluation"


class Judge(Protocol):
    def ratings(self, tasks: pd.DataFrame) -> pd.DataFrame: ...

    def rankings(self, tasks: pd.DataFrame) -> pd.DataFrame: ...


def evaluate(pairs: pd.DataFrame, judge: Judge, output_dir) -> dict:
    """Both win-rates of ``pairs`` (from :func:`matched_outputs`); returns and saves ``winrates.json``."""
    out = claim_dir(output_dir, EVAL_KIND)
    tables = {"rating_tasks_reference.csv": rating_eval_tasks(pairs, "reference"),
              "rating_tasks_candidate.csv": rating_eval_tasks(pairs, "candidate"),
              "ranking_tasks.csv": ranking_eval_tasks(pairs)}
    for name, table in tables.items():
        write_table(table, out / name)
    ref_ratings = judge.ratings(tables["rating_tasks_reference.csv"])
    cand_ratings = judge.ratings(tables["rating_tasks_candidate.csv"])
    rankings = judge.rankings(tables["ranking_tasks.csv"])
    if getattr(judge, "calibrate", False):  # one rating scale for both sides
        from sparse_feedback.evaluate.calibrate import calibrate_ratings

        ref_ratings, cand_ratings = calibrate_ratings(ref_ratings, cand_ratings)
    write_table(ref_ratings, out / "feedback_ratings_reference.csv")
    write_table(cand_ratings, out / "feedback_ratings_candidate.csv")
    write_table(rankings, out / "feedback_rankings.csv")
    result = {"instructions": len(pairs),
              "answered": {"ratings_reference": len(ref_ratings), "ratings_candidate": len(cand_ratings),
                           "rankings": len(rankings)},
              "ratings": win_rate_ratings(ref_ratings, cand_ratings).to_dict(),
              "rankings": win_rate_rankings(rankings).to_dict()}
    write_json(result, out / "winrates.json")
    return result
