"""Win-rates of a candidate against a reference under both evaluation protocols."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from sparse_feedback.analysis.keys import combine, text_hash

RANKING_SCORE = {"(b)": 1.0, "equal": 0.5, "(a)": 0.0}  # output2 is the candidate


@dataclass
class WinRate:
    win_rate: float  # percent
    ci95: float  # half-width of the 95% interval, percent
    n: int
    wins: int
    ties: int
    losses: int

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
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


def _first_by_context(frame: pd.DataFrame) -> pd.Series:
    key = combine(text_hash(frame["instruction"]), text_hash(frame["input"]))
    keep = ~pd.Series(key).duplicated(keep="first").to_numpy()
    return pd.Series(frame["rating"].to_numpy()[keep], index=key[keep])


def ratings_scores(reference: pd.DataFrame, candidate: pd.DataFrame) -> pd.DataFrame:
    """Per-instruction ratings of both sides, matched on (instruction, input); first duplicate counts."""
    ref, cand = _first_by_context(reference), _first_by_context(candidate)
    both = ref.index.intersection(cand.index, sort=False)
    r, c = ref.reindex(both).to_numpy(), cand.reindex(both).to_numpy()
    return pd.DataFrame({"key": both, "reference": r, "candidate": c,
                         "score": np.where(c > r, 1.0, np.where(c == r, 0.5, 0.0))})


def win_rate_ratings(reference: pd.DataFrame, candidate: pd.DataFrame) -> WinRate:
    """Ratings-protocol win-rate: candidate rated higher = 1, equal = 0.5, lower = 0."""
    return summarize(ratings_scores(reference, candidate)["score"])


def win_rate_rankings(feedback: pd.DataFrame) -> WinRate:
    """Rankings-protocol win-rate from pairwise feedback where output2 is the candidate."""
    return summarize(feedback["feedback"].map(RANKING_SCORE).to_numpy())
