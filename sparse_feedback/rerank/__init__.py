"""Best-of-n reranking with a trained reward model: AlpacaEval outputs plus every candidate's score."""

from sparse_feedback.rerank.run import default_generator, rerank, scores_path
from sparse_feedback.rerank.select import Scorer, best_of_n, candidates, score_table, split_scores

__all__ = ["Scorer", "best_of_n", "candidates", "default_generator", "rerank", "score_table", "scores_path",
           "split_scores"]
