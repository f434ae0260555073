"""Reward models trained on ratings or on rankings feedback: training, evaluation and scoring (stage 6)."""
