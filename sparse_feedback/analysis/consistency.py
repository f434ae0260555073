"""Consistency between the ratings and rankings protocols (the paper's definition)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from sparse_feedback.analysis.keys import combine, first_index, first_positions, label_codes, text_hash
from sparse_feedback.formats.schema import LABELS

_LABEL_ARRAY = np.array(LABELS, dtype=object)


def _implied_codes(r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    return np.where(r1 > r2, 0, np.where(r1 < r2, 1, 2))


def implied_preference(rating1, rating2) -> np.ndarray:
    """The preference two ratings imply: ``(a)`` if the first is higher, ``(b)`` if lower, else ``equal``.

    >>> implied_preference([5, 3, 4], [3, 5, 4]).tolist()
    ['(a)', '(b)', 'equal']
    """
    return _LABEL_ARRAY[_implied_codes(np.asarray(rating1), np.asarray(rating2))]


def _rated_pairs(ratings: pd.DataFrame, rankings: pd.DataFrame):
    """Row positions in ``rankings`` of the rated pairs (first of duplicate pairs) and their two ratings."""
    r_key = combine(text_hash(ratings["instruction"]), text_hash(ratings["input"]), text_hash(ratings["output"]))
    lookup, first = first_index(r_key)
    rating_values = ratings["rating"].to_numpy()[first]

    ctx = combine(text_hash(rankings["instruction"]), text_hash(rankings["input"]))
    h1, h2 = text_hash(rankings["output1"]), text_hash(rankings["output2"])
    rows = first_positions(combine(ctx, h1, h2))
    ctx, h1, h2 = ctx[rows], h1[rows], h2[rows]
    # combine(combine(a, b), c) == combine(a, b, c): the same keys as the ratings'
    pos1, pos2 = np.split(lookup.get_indexer(np.concatenate([combine(ctx, h1), combine(ctx, h2)])), 2)
    rated = (pos1 >= 0) & (pos2 >= 0)
    return rows[rated], rating_values[pos1[rated]], rating_values[pos2[rated]]


def pairs_with_ratings(ratings: pd.DataFrame, rankings: pd.DataFrame) -> pd.DataFrame:
    """Ranked pairs (first of duplicates) whose two responses both carry a rating (first of duplicates).

    Adds ``rating1``, ``rating2`` and ``implied`` columns; keeps the rankings' own columns.
    """
    rows, r1, r2 = _rated_pairs(ratings, rankings)
    out = rankings.iloc[rows].reset_index(drop=True)
    out["rating1"] = np.asarray(r1, dtype=np.int64)
    out["rating2"] = np.asarray(r2, dtype=np.int64)
    out["implied"] = implied_preference(r1, r2)
    return out


@dataclass
class Consistency:
    consistency: float  # percent of pairs where the implied preference equals the ranking feedback
    n_pairs: int
    confusion: dict  # {implied: {feedback: count}}

    def to_dict(self) -> dict:
        """Plain JSON-ready values; no pairs gives ``consistency: None`` (JSON null, never NaN)."""
        out = asdict(self)
        out["consistency"] = None if math.isnan(self.consistency) else self.consistency
        return out


def _confusion(implied_codes: np.ndarray, feedback_codes: np.ndarray) -> dict:
    counts = np.bincount(implied_codes * 3 + feedback_codes, minlength=9).reshape(3, 3)
    return {i: {f: int(counts[a, b]) for b, f in enumerate(LABELS)} for a, i in enumerate(LABELS)}


def confusion_matrix(implied, feedback) -> dict:
    """Counts of (implied, feedback) over the three labels, every cell present.

    >>> confusion_matrix(["(a)", "equal"], ["(a)", "(b)"])["equal"]
    {'(a)': 0, '(b)': 1, 'equal': 0}
    """
    return _confusion(label_codes(implied), label_codes(feedback))


def consistency(ratings: pd.DataFrame, rankings: pd.DataFrame) -> Consistency:
    """Share (percent) of rated, ranked pairs where the ratings imply the ranking feedback."""
    rows, r1, r2 = _rated_pairs(ratings, rankings)
    implied = _implied_codes(r1, r2)
    feedback = label_codes(rankings["feedback"].to_numpy()[rows])
    n = len(rows)
    pct = float(100.0 * (implied == feedback).mean()) if n else float("nan")
    return Consistency(round(pct, 4), n, _confusion(implied, feedback))
