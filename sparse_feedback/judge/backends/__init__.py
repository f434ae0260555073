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
