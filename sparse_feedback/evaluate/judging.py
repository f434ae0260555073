"""The judge engine as the evaluation's judge: one backend and one answer cache for both protocols."""

from __future__ import annotations

import os

import pandas as pd

from sparse_feedback.progress import ProgressCallback


def judge_backend(model: str, backend: str = "openai", base_url: str | None = None,
                  api_key_env: str = "OPENAI_API_KEY", **options):
    """A judge backend: a local model (``transformers``) or any OpenAI-compatible server (key needed if remote)."""
    from sparse_feedback.judge import make_backend
    from sparse_feedback.judge.backends.openai import is_local

    if backend == "transformers":
        return make_backend("transformers", model)
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    key = os.environ.get(api_key_env, "").strip()
    if not key and not is_local(base_url):
        raise LookupError(f"no API key: set {api_key_env} to use the judge at {base_url}")
    return make_backend("openai", model, base_url=base_url, api_key=key or None, **options)


class EngineJudge:
    """``ratings(tasks)`` / ``rankings(tasks)`` → feedback tables; answers cached, so reruns are free.

    ``calibrate``: a small local judge's rankings are decided from both orders' probabilities, and its
    ratings are meant to be binned jointly by the caller (see :mod:`sparse_feedback.evaluate.calibrate`).
    """

    def __init__(self, backend, cache_path=None, callback: ProgressCallback | None = None, calibrate: bool = False):
        from sparse_feedback.judge import AnswerCache

        self.backend, self.callback, self.calibrate = backend, callback, calibrate
        self.cache = AnswerCache(cache_path)
        self.summaries: list[str] = []

    def _run(self, kind: str, tasks: pd.DataFrame) -> pd.DataFrame:
        from sparse_feedback.judge import judge

        result = judge(kind, tasks, self.backend, self.cache, callback=self.callback)
        self.summaries.append(result.summary())
        return result.feedback()

    def ratings(self, tasks: pd.DataFrame) -> pd.DataFrame:
        return self._run("ratings", tasks)

    def rankings(self, tasks: pd.DataFrame) -> pd.DataFrame:
        feedback = self._run("rankings", tasks)
        if self.calibrate:
            from sparse_feedback.evaluate.calibrate import calibrate_rankings

            feedback = calibrate_rankings(feedback, self.backend, self.cache)
        return feedback

    def close(self) -> None:
        self.cache.close()

    def __enter__(self) -> "EngineJudge":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
