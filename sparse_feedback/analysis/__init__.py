"""The paper's analyses as pure functions over DataFrames; they never open files."""

from sparse_feedback.analysis.consistency import (
    Consistency, confusion_matrix, consistency, implied_preference, pairs_with_ratings,
)
from sparse_feedback.analysis.winrate import (
    WinRate, ratings_scores, summarize, win_rate_rankings, win_rate_ratings,
)

__all__ = [
    "Consistency", "WinRate", "confusion_matrix", "consistency", "implied_preference", "pairs_with_ratings",
    "ratings_scores", "summarize", "win_rate_rankings", "win_rate_ratings",
]
