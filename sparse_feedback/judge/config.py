"""The judge engine's settings: one dataclass that is also the judge command's argument set."""

from __future__ import annotations

from dataclasses import dataclass

from sparse_feedback.backends import RetryPolicy
from sparse_feedback.config import arg


@dataclass
class JudgeConfig:
    """How hard to push: ``concurrency`` requests in flight; each question gets ``1 + max_retries`` tries.
    Also the judge command's argument set (``--concurrency``, ``--max-retries``, ...)."""

    concurrency: int = arg("requests in flight", default=16)
    max_retries: int = arg("retries per question", default=4)
    backoff: float = arg("first retry wait in seconds, doubling with jitter", default=1.0)
    max_backoff: float = arg("longest retry wait in seconds", default=60.0)
    budget: object = arg("a costs.Budget (--max-cost) checked before each request", default=None,
                         meta={"cli": False})

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(self.max_retries, self.backoff, self.max_backoff)
