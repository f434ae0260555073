"""The paper's analyses as pure functions over DataFrames; they never open files."""

from sparse_feedback.lazy import lazy_package

__all__ = lazy_package(__name__, {
    ".consistency": ["Consistency", "confusion_matrix", "consistency", "implied_preference", "pairs_with_ratings"],
    ".winrate": ["WinRate", "ratings_scores", "summarize", "win_rate_rankings", "win_rate_ratings"],
})
