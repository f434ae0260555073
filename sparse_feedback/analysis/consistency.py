"""Consistency between the ratings and rankings protocols (the paper's definition)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from sparse_feedback.analysis.keys import combine, text_hash
from sparse_feedback.formats.schema import LABELS


def implied_preference(rating1, rating2) -> np.ndarray:
    """The preference two ratings imply: ``(a)`` if the first is higher, ``(b)`` if lower, else ``equal``.

    >>> implied_preference([5, 3, 4], [3, 5, 4]).tolist()
    ['(a)', '(b)', 'equal']
    """
    r1, r2 = np.asarray(rating1), np.asarray(rating2)
    return np.where(r1 > r2, "(a)", np.where(r1 < r2, "(b)", "equal")).astype(object)


def pairs_with_ratings(ratings: pd.DataFrame, rankings: pd.DataFrame) -> pd.DataFrame:
    """Ranked pairs (first of duplicates) whose two responses both carry a rating (first of duplicates).

    Adds ``rating1``, ``rating2`` and ``implied`` columns; keeps the rankings' own columns.
    """
    ctx_r = combine(text_hash(ratings["instruction"]), text_hash(ratings["input"]))
    r_key = combine(ctx_r, text_hash(ratings["output"]))
    first = ~pd.Series(r_key).duplicated(keep="first").to_numpy()
    lookup = pd.Series(ratings["rating"].to_numpy()[first], index=r_key[first])

    ctx_k = combine(text_hash(rankings["instruction"]), text_hash(rankings["input"]))
    h1, h2 = text_hash(rankings["output1"]), text_hash(rankings["output2"])
    pair_key = combine(ctx_k, h1, h2)
    keep = ~pd.Series(pair_key).duplicated(keep="first").to_numpy()
    k1, k2 = combine(ctx_k, h1)[keep], combine(ctx_k, h2)[keep]
    rating1 = lookup.reindex(k1).to_numpy()
    rating2 = lookup.reindex(k2).to_numpy()
    rated = ~(np.isnan(rating1) | np.isnan(rating2))
    out = rankings.loc[keep].iloc[rated].copy().reset_index(drop=True)
    out["rating1"] = rating1[rated].astype(np.int64)
    out["rating2"] = rating2[rated].astype(np.int64)
    out["implied"] = implied_preference(out["rating1"], out["rating2"])
    return out


@dataclass
class Consistency:
    consistency: float  # percent of pairs where the implied preference equals the ranking feedback
    n_pairs: int
    confusion: dict  # {implied: {feedback: count}}

    def to_dict(self) -> dict:
        return asdict(self)


def confusion_matrix(implied, feedback) -> dict:
    """Counts of (implied, feedback) over the three labels, every cell present."""
    table = pd.crosstab(pd.Categorical(implied, LABELS), pd.Categorical(feedback, LABELS), dropna=False)
    return {i: {f: int(table.loc[i, f]) for f in LABELS} for i in LABELS}


def consistency(ratings: pd.DataFrame, rankings: pd.DataFrame) -> Consistency:
    """Share (percent) of rated, ranked pairs where the ratings imply the ranking feedback."""
    pairs = pairs_with_ratings(ratings, rankings)
    n = len(pairs)
    agree = (pairs["implied"].to_numpy() == pairs["feedback"].to_numpy())
    pct = float(100.0 * agree.mean()) if n else float("nan")
    return Consistency(round(pct, 4), n, confusion_matrix(pairs["implied"], pairs["feedback"]))
