"""Stage 3: AI feedback from an LLM judge, ratings (1-7) and rankings asked in both orders.

``judge_ratings(tasks, backend)`` / ``judge_rankings(...)`` return a :class:`JudgeResult`;
``iter_ratings`` / ``iter_rankings`` yield judgements as they complete. Backends: ``openai``
(any OpenAI-compatible server) and ``transformers`` (a local model scoring the answer tokens).
"""

from sparse_feedback.backends import Completion, make_backend, redact
from sparse_feedback.judge.cache import AnswerCache, cache_key, default_cache_path
from sparse_feedback.judge.engine import (
    JudgeAborted, JudgeConfig, ajudge, iter_rankings, iter_ratings, judge, judge_rankings, judge_ratings,
)
from sparse_feedback.judge.parse import parse_position, parse_rating
from sparse_feedback.judge.protocols import JudgeProtocol, protocol
from sparse_feedback.judge.results import JudgeResult, PairJudgement, PositionBias, Rating, RunStats, position_bias

__all__ = [
    "AnswerCache", "Completion", "JudgeAborted", "JudgeConfig", "JudgeProtocol", "JudgeResult", "PairJudgement",
    "PositionBias", "Rating", "RunStats", "ajudge", "cache_key", "default_cache_path",
    "iter_rankings", "iter_ratings", "judge", "judge_backend", "judge_rankings", "judge_ratings", "make_backend",
    "parse_position", "parse_rating", "position_bias", "protocol", "redact",
]


def judge_backend(model: str, backend: str = "openai", base_url: str | None = None,
                  api_key_env: str = "OPENAI_API_KEY", hint: str = "", **options):
    """A judge as the CLI and the app name one (see :func:`sparse_feedback.backends.make_backend`)."""
    return make_backend(backend, model, base_url=base_url, api_key_env=api_key_env, hint=hint, **options)
