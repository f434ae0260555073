"""Human studies above the store: which items annotators see next (queue strategies) and what they cost."""

from sparse_feedback.lazy import lazy_package

__all__ = lazy_package(__name__, {
    ".selection": ["STRATEGIES", "check_strategy", "strategy_order"],
})
