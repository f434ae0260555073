"""Everything the report shows, computed once from a feedback bundle and the candidate runs.

The dashboards call the same analysis functions, so a number in the app equals the one here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sparse_feedback.analysis.agreement import agreement_summary, annotator_table
from sparse_feedback.analysis.bias import PositionBias, length_bias_table, position_bias
from sparse_feedback.analysis.candidates import protocol_rank_flips, win_rate_by_length, win_rate_table
from sparse_feedback.analysis.consistency import Consistency
from sparse_feedback.analysis.crossed import crossed_table, inversion_pairs
from sparse_feedback.analysis.disagreement import disagreements
from sparse_feedback.analysis.leaderboard import comparisons_from_runs, leaderboard, mean_ratings
from sparse_feedback.analysis.sources import (
    ALL_HUMANS, MAJORITY, Feedback, consistency_between, consistency_grid, group_sources, source_rankings,
)


def comparisons(feedback: Feedback) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """The disagreements worth listing: ratings vs rankings within each source, humans vs each LLM."""
    sources = group_sources(feedback)
    pairs = [(("ratings", s), ("rankings", s)) for s in sources if s != ALL_HUMANS]
    humans = MAJORITY in sources
    for llm in feedback.llm_names() if humans else []:
        pairs += [(("ratings", MAJORITY), ("ratings", llm)), (("rankings", MAJORITY), ("rankings", llm))]
    return pairs


def judgement_name(judgement: tuple[str, str]) -> str:
    return f"{judgement[1]} {judgement[0]}"


@dataclass
class Report:
    grid: pd.DataFrame
    consistency: dict[tuple[str, str], Consistency]
    agreement: pd.DataFrame
    annotators: pd.DataFrame
    length_summary: pd.DataFrame
    length_bins: pd.DataFrame
    position: dict[str, PositionBias]
    disagreements: dict[str, pd.DataFrame]
    win_rates: pd.DataFrame
    by_length: pd.DataFrame
    runs: dict[str, pd.DataFrame] = field(default_factory=dict)
    flips: list = field(default_factory=list)
    crossed: pd.DataFrame = field(default_factory=pd.DataFrame)
    inversions: pd.DataFrame = field(default_factory=pd.DataFrame)
    leaderboard: pd.DataFrame = field(default_factory=pd.DataFrame)

    def numbers(self) -> dict:
        """The report's numbers as plain JSON-able values (what ``report --json`` prints); NaN becomes None."""
        def records(frame):
            return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return _no_nan({
            "consistency": records(self.grid),
            "agreement": records(self.agreement),
            "annotators": records(self.annotators),
            "length_bias": records(self.length_summary),
            "position_bias": {k: v.to_dict() for k, v in self.position.items()},
            "disagreements": {k: len(v) for k, v in self.disagreements.items()},
            "win_rates": records(self.win_rates),
            "protocol_rank_flips": [list(f) for f in self.flips],
            "crossed": records(self.crossed),
            "inversions": records(self.inversions),
            "leaderboard": records(self.leaderboard),
        })


def _no_nan(value):
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value.item() if hasattr(value, "item") else value


def build_report(feedback: Feedback, runs: dict[str, pd.DataFrame] | None = None) -> Report:
    """Compute every section of the report (``runs``: candidate name → per-instruction table)."""
    runs = runs or {}
    sources = group_sources(feedback)
    grid = consistency_grid(feedback, sources)
    shown = grid[grid["n_pairs"] > 0]
    consistency = {(r, k): consistency_between(feedback, r, k)[0]
                   for r, k in zip(shown["rating_source"], shown["ranking_source"])}
    has_humans = bool(feedback.annotators())
    length_summary, length_bins = length_bias_table(feedback, sources)
    position = {llm: position_bias(source_rankings(feedback, llm)) for llm in feedback.llm_names()}
    found = {f"{judgement_name(a)} vs {judgement_name(b)}": disagreements(feedback, a, b)
             for a, b in comparisons(feedback)}
    win_rates = win_rate_table(runs)
    crossing = {"crossed": crossed_table(runs), "inversions": inversion_pairs(runs),
                "leaderboard": leaderboard(comparisons_from_runs(runs), mean_ratings(runs))} if runs else {}
    return Report(grid=grid, consistency=consistency,
                  agreement=agreement_summary(feedback) if has_humans else pd.DataFrame(),
                  annotators=annotator_table(feedback) if has_humans else pd.DataFrame(),
                  length_summary=length_summary, length_bins=length_bins, position=position,
                  disagreements=found, win_rates=win_rates, by_length=win_rate_by_length(runs), runs=runs,
                  flips=protocol_rank_flips(win_rates) if len(win_rates) else [], **crossing)
