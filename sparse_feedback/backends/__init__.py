"""Model backends for every stage that calls a model (generation and judging), as AlpacaEval's decoders.

One module per backend: ``openai`` (any OpenAI-compatible server), ``transformers`` (a local model on
``--device``) and ``vllm`` (the offline vLLM engine, when installed). Each backend offers both calls:

- ``backend.generate(items, config, on_result)``: n samples per instruction; ``items`` is a list of
  ``(index, instruction, input)`` and ``on_result(index, responses)`` is called as each one is ready.
- ``await backend.complete(messages, choices) -> Completion``: one judge answer. A backend sends one
  request and reports what happened (:class:`TransientError`, :class:`RequestError`, :class:`AbortRun`);
  retries follow the one :class:`RetryPolicy`. ``choices`` lists the answers a scoring backend picks from.

Keys are read in one way: from the environment variable named by ``api_key_env`` (:func:`read_api_key`).
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass
from typing import Awaitable, Callable, Protocol, Sequence

Messages = Sequence[dict]
Item = tuple[int, str, str]
OnResult = Callable[[int, list[str]], None]
BACKENDS = ("transformers", "openai", "vllm")
DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Completion:
    """The judge's answer text, and the probability of each choice when the backend scored them."""

    text: str
    probs: dict[str, float] | None = None
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens, as the server reported them
    limits: dict | None = None  # the reply's rate-limit headers (judge.ratelimit reads them), when sent


class TransientError(Exception):
    """Worth retrying: rate limits, 5xx, timeouts, dropped connections. ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float | None = None, limits=None, throttled: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.limits = limits  # the reply's rate-limit headers, when there was a reply
        self.throttled = throttled  # an HTTP 429


class RequestError(Exception):
    """This request will not succeed as sent (e.g. 400): the task fails without retrying."""


class AbortRun(Exception):
    """No request can succeed (bad key, unknown model): stop the whole run."""


class GenerationError(RuntimeError):
    """A backend could not produce samples (server refused or unreachable); finished instructions are kept."""


def redact(text: str | None, secrets) -> str | None:
    """Blank out secrets.

    >>> redact("bad key sk-123", ["sk-123"])
    'bad key ***'
    """
    if text is None:
        return None
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


@dataclass
class RetryPolicy:
    """Every backend's retries: ``1 + max_retries`` tries, waits doubling from ``backoff`` (with jitter, at most
    ``max_backoff``), or as long as the server's Retry-After says.

    >>> RetryPolicy(backoff=1.0).delay(1, retry_after=0.5) >= 0.5, RetryPolicy(backoff=2.0).delay(1) <= 2.0
    (True, True)
    """

    max_retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return retry_after * random.uniform(1, 1.1)
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return random.uniform(base / 2, base)

    async def run(self, call: Callable[[], Awaitable]):
        """``await call()`` until it succeeds, retrying :class:`TransientError` only."""
        for attempt in range(self.max_retries + 1):
            try:
                return await call()
            except TransientError as err:
                if attempt == self.max_retries:
                    raise
                await asyncio.sleep(self.delay(attempt + 1, err.retry_after))


class LocalModel:
    """What the in-process backends (transformers, vllm) share: no secrets, and judging by choice probabilities."""

    @property
    def params(self) -> dict:
        return {"scoring": "choice-probabilities"}

    @property
    def secrets(self) -> tuple[str, ...]:
        return ()

    async def complete(self, messages: Messages, choices: Sequence[str]) -> Completion:
        """The in-process ``score`` (a forward pass), off the event loop."""
        return await asyncio.to_thread(self.score, messages, choices)

    async def aclose(self) -> None:
        return None


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

    def generate(self, items: list[Item], config, on_result: OnResult) -> None: ...


def read_api_key(api_key_env: str = "OPENAI_API_KEY", base_url: str | None = None, hint: str = "") -> str | None:
    """The key in the environment variable ``api_key_env``; a server on this machine needs none, a remote
    one without it is a LookupError (``hint`` is added to its message)."""
    from sparse_feedback.backends.openai import is_local

    key = os.environ.get(api_key_env, "").strip()
    if not key and not is_local(base_url):
        raise LookupError(f"no API key: set the environment variable {api_key_env}{hint} to use the server at "
                          f"{base_url}")
    return key or None


def make_backend(name: str, model: str, *, base_url: str | None = None, api_key_env: str | None = "OPENAI_API_KEY",
                 api_key: str | None = None, device: str = "auto", hint: str = "", **options) -> Backend:
    """The backend ``name`` for ``model``; heavy libraries are imported here, lazily.

    ``openai``: the server at ``base_url`` (default ``$OPENAI_BASE_URL``, else OpenAI's), its key ``api_key``
    or else read from ``$api_key_env`` (``None``: never from the environment, e.g. for a key typed in the app). ``transformers`` / ``vllm``: the model on ``device``.
    """
    if name == "openai":
        from sparse_feedback.backends.openai import OpenAIBackend

        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        key = api_key or (read_api_key(api_key_env, base_url, hint) if api_key_env else None)
        options.pop("tensor_parallel_size", None)  # a server's own setting
        return OpenAIBackend(model, base_url=base_url, api_key=key, **options)
    if name == "transformers":
        from sparse_feedback.backends.transformers import TransformersBackend

        return TransformersBackend(model, device=device, **options)
    if name == "vllm":
        from sparse_feedback.backends.vllm import VLLMBackend

        return VLLMBackend(model, device=device, **options)
    raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
