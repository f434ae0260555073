"""The judge engine's settings: one dataclass that is also the judge command's argument set."""

from __future__ import annotations

from dataclasses import dataclass

from sparse_feedback.backends import RetryPolicy, make_backend
from sparse_feedback.config import arg


@dataclass
class JudgeConfig:
    """How hard to push: ``concurrency`` requests in flight; each question gets ``1 + max_retries`` tries.
    Also the judge command's argument set (``--concurrency``, ``--max-retries``, ...)."""

    concurrency: int = arg("requests in flight", default=16)
    max_retries: int = arg("retries per question", default=4)
    fixed_concurrency: bool = arg("always --concurrency requests in flight; by default at most that many, adapted "
                                  "to the server's rate-limit headers and 429s", default=False)
    backoff: float = arg("first retry wait in seconds, doubling with jitter", default=1.0)
    max_backoff: float = arg("longest retry wait in seconds", default=60.0)
    budget: object = arg("a costs.Budget (--max-cost) checked before each request", default=None,
                         meta={"cli": False})

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(self.max_retries, self.backoff, self.max_backoff)


def judge_backend(model: str, backend: str = "openai", base_url: str | None = None,
                  api_key_env: str = "OPENAI_API_KEY", hint: str = "", **options):
    """A judge as the CLI and the app name one (see :func:`sparse_feedback.backends.make_backend`)."""
    return make_backend(backend, model, base_url=base_url, api_key_env=api_key_env, hint=hint, **options)
