"""Best-of-n reranking with a trained reward model: AlpacaEval outputs plus every candidate's score."""

from sparse_feedback.lazy import lazy_package

__all__ = lazy_package(__name__, {
    ".run": ["default_generator", "rerank", "scores_path"],
    ".select": ["Scorer", "best_of_n", "candidates", "score_table", "split_scores"],
})
