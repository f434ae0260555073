"""Win-rates of a candidate against a reference under both evaluation protocols."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from sparse_feedback.analysis.keys import combine, first_index, label_codes, text_hash

RANKING_SCORE = {"(b)": 1.0, "equal": 0.5, "(a)": 0.0}  # output2 is the candidate
_SCORE_BY_CODE = np.array([RANKING_SCORE["(a)"], RANKING_SCORE["(b)"], RANKING_SCORE["equal"]])


@dataclass
class WinRate:
    win_rate: float  # percent
    ci95: float  # half-width of the 95% interval, percent
    n: int
    wins: int
    ties: int
    losses: int

    def to_dict(self) -> dict:
        """Plain JSON-ready values; an undefined mean or interval (n = 0 or 1) is None, never NaN."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}

    def __str__(self) -> str:
        if not self.n:
            return "win-rate undefined: nothing to compare (n=0)"
        return (f"win-rate {self.win_rate:.2f} ± {self.ci95:.2f} % (n={self.n}: "
                f"{self.wins} wins, {self.ties} ties, {self.losses} losses)")


def summarize(scores) -> WinRate:
    """Mean of per-instruction scores (1 win, 0.5 tie, 0 loss) in percent, with 1.96 standard errors.

    >>> summarize([1, 0.5, 0, 1]).win_rate
    62.5
    """
    s = np.asarray(scores, dtype=float)
    n = len(s)
    mean = float(s.mean()) if n else float("nan")
    ci = float(1.96 * s.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return WinRate(round(100 * mean, 4), round(100 * ci, 4), n, int((s == 1).sum()), int((s == 0.5).sum()),
                   int((s == 0).sum()))


def _first_by_context(frame: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    index, first = first_index(combine(text_hash(frame["instruction"]), text_hash(frame["input"])))
    return index, frame["rating"].to_numpy()[first]


def ratings_scores(reference: pd.DataFrame, candidate: pd.DataFrame) -> pd.DataFrame:
    """Per-instruction ratings of both sides, matched on (instruction, input); first duplicate counts.

    Rows follow the reference's order; instructions only one side rated are left out.
    """
    ref_keys, ref_ratings = _first_by_context(reference)
    cand_keys, cand_ratings = _first_by_context(candidate)
    pos = cand_keys.get_indexer(ref_keys)
    matched = pos >= 0
    r, c = ref_ratings[matched], cand_ratings[pos[matched]]
    return pd.DataFrame({"key": ref_keys[matched], "reference": r, "candidate": c,
                         "score": np.where(c > r, 1.0, np.where(c == r, 0.5, 0.0))})


def win_rate_ratings(reference: pd.DataFrame, candidate: pd.DataFrame) -> WinRate:
    """Ratings-protocol win-rate: candidate rated higher = 1, equal = 0.5, lower = 0."""
    return summarize(ratings_scores(reference, candidate)["score"])


def win_rate_rankings(feedback: pd.DataFrame) -> WinRate:
    """Rankings-protocol win-rate from pairwise feedback where output2 is the candidate."""
    return summarize(_SCORE_BY_CODE[label_codes(feedback["feedback"].to_numpy())])
