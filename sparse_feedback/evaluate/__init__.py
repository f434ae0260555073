"""Evaluate a candidate's outputs against a reference under both protocols (ratings and rankings win-rates)."""

from sparse_feedback.evaluate.run import Judge, evaluate
from sparse_feedback.evaluate.tasks import matched_outputs, ranking_eval_tasks, rating_eval_tasks

__all__ = ["Judge", "evaluate", "matched_outputs", "ranking_eval_tasks", "rating_eval_tasks"]
