"""Reward models trained on ratings or on rankings feedback: training, evaluation and scoring (stage 6).

``load_reward_model(dir).score(instructions, inputs, responses)`` is what best-of-n reranking uses;
``train(RewardConfig(...))`` (``sparse_feedback.reward.train``) trains one.
"""

from sparse_feedback.lazy import lazy_package

__all__ = lazy_package(__name__, {
    ".config": ["RewardConfig"],
    ".scoring": ["RewardModel", "load_reward_model"],
})
