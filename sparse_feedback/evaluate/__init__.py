"""Evaluate a candidate's outputs against a reference under both protocols (ratings and rankings win-rates)."""

from sparse_feedback.lazy import lazy_package

__all__ = lazy_package(__name__, {
    ".run": ["Judge", "evaluate"],
    ".tasks": ["matched_outputs", "ranking_eval_tasks", "rating_eval_tasks"],
})
