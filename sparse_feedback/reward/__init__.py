"""Reward models trained on ratings or on rankings feedback: training, evaluation and scoring (stage 6).

``load_reward_model(dir).score(instructions, inputs, responses)`` is what best-of-n reranking uses;
``train(RewardConfig(...))`` (``sparse_feedback.reward.train``) trains one.
"""

from sparse_feedback.reward.config import RewardConfig
from sparse_feedback.reward.scoring import RewardModel, load_reward_model

__all__ = ["RewardConfig", "RewardModel", "load_reward_model"]
