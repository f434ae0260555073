"""Stage 3: AI feedback from an LLM judge, ratings (1-7) and rankings asked in both orders.

``judge_ratings(tasks, backend)`` / ``judge_rankings(...)`` return a :class:`JudgeResult`;
``iter_ratings`` / ``iter_rankings`` yield judgements as they complete. Backends: ``openai``
(any OpenAI-compatible server) and ``transformers`` (a local model scoring the answer tokens).
"""

from sparse_feedback.lazy import lazy_package

__all__ = lazy_package(__name__, {
    "sparse_feedback.backends": ["Completion", "make_backend", "redact"],
    ".cache": ["AnswerCache", "cache_key", "default_cache_path"],
    ".config": ["JudgeConfig", "judge_backend"],
    ".engine": ["JudgeAborted", "ajudge", "iter_rankings", "iter_ratings", "judge", "judge_rankings", "judge_ratings"],
    ".parse": ["parse_position", "parse_rating"],
    ".protocols": ["JudgeProtocol", "protocol"],
    ".results": ["JudgeResult", "PairJudgement", "PositionBias", "Rating", "RunStats", "position_bias"],
})
