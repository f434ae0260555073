"""Judge backends: one small async signature, ``await backend.complete(messages, choices) -> Completion``.

A backend sends one request and reports what happened; it never retries (the engine owns the retry
loop, so every backend gets the same budget, backoff and accounting). ``choices`` lists the answers
a scoring backend may pick from; a generating backend (an API) ignores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

Messages = Sequence[dict]


@dataclass(frozen=True)
class Completion:
    """The judge's answer text, and the probability of each choice when the backend scored them."""

    text: str
    probs: dict[str, float] | None = None
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens, as the server reported them
    limits: object | None = None  # judge.ratelimit.RateLimits from the reply's headers, when a server sends them


class TransientError(Exception):
    """Worth retrying: rate limits, 5xx, timeouts, dropped connections. ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RequestError(Exception):
    """This request will not succeed as sent (e.g. 400): the task fails without retrying."""


class AbortRun(Exception):
    """No request can succeed (bad key, unknown model): stop the whole run."""


class Backend(Protocol):
    name: str
    model: str

    @property
    def params(self) -> dict:
        """Everything besides model and messages that shapes the answer (part of the cache key)."""

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never reach a file, a log or an error message."""

    async def complete(self, messages: Messages, choices: Sequence[str]) -> Completion: ...

    async def aclose(self) -> None: ...


def make_backend(name: str, model: str, **options) -> Backend:
    """Build a backend by name (``openai`` or ``transformers``); heavy imports happen here, lazily."""
    if name == "openai":
        from sparse_feedback.judge.backends.openai import OpenAIBackend

        return OpenAIBackend(model, **options)
    if name == "transformers":
        from sparse_feedback.judge.backends.transformers import TransformersBackend

        return TransformersBackend(model, **options)
    raise ValueError(f"unknown backend {name!r}; choose openai or transformers")


def judge_backend(model: str, backend: str = "openai", base_url: str | None = None,
                  api_key_env: str = "OPENAI_API_KEY", hint: str = "", **options) -> Backend:
    """A judge as the CLI and the app name one: a local model (``transformers``), or any OpenAI-compatible
    server at ``base_url`` (default ``$OPENAI_BASE_URL``, else OpenAI's) with its key read from the variable
    ``api_key_env``. A remote server without a key is a LookupError (``hint`` is added to its message)."""
    import os

    from sparse_feedback.judge.backends.openai import is_local

    if backend == "transformers":
        return make_backend("transformers", model)
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    key = os.environ.get(api_key_env, "").strip()
    if not key and not is_local(base_url):
        raise LookupError(f"no API key: set the environment variable {api_key_env}{hint} to use the judge at "
                          f"{base_url}")
    return make_backend("openai", model, base_url=base_url, api_key=key or None, **options)
