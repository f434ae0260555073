"""The judge engine as the evaluation's judge: one backend and one answer cache for both protocols."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pandas as pd

from sparse_feedback.progress import ProgressCallback


class EngineJudge(AbstractContextManager):
    """``ratings(tasks)`` / ``rankings(tasks)`` → feedback tables; answers cached, so reruns are free.

    ``calibrate``: a small local judge's rankings are decided from both orders' probabilities, and its
    ratings are meant to be binned jointly by the caller (see :mod:`sparse_feedback.evaluate.calibrate`).
    """

    def __init__(self, backend, cache_path=None, callback: ProgressCallback | None = None, calibrate: bool = False,
                 batch: bool = False):
        from sparse_feedback.judge import AnswerCache

        self.backend, self.callback, self.calibrate, self.batch = backend, callback, calibrate, batch
        self.cache = AnswerCache(cache_path)
        self.summaries: list[str] = []

    def _run(self, kind: str, tasks: pd.DataFrame) -> pd.DataFrame:
        from sparse_feedback.judge import judge
        from sparse_feedback.judge.batch import judge_batch

        run = judge_batch if self.batch else judge  # batch: through the Batch API, resumable
        result = run(kind, tasks, self.backend, self.cache, callback=self.callback)
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

    def __exit__(self, *exc) -> None:
        self.close()
