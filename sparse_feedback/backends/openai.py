"""Any OpenAI-compatible server through ``openai.AsyncOpenAI`` (OpenAI, a vLLM server or cluster, TGI, Ollama,
llama.cpp): one judge answer per ``complete``; n samples per instruction with ``generate``.

Sampling: chat models get the instruction as one user turn (``chat.completions``); ``prompt_format="alpaca"``
sends the Alpaca prompt to the plain ``completions`` endpoint. Servers that ignore ``n`` (Ollama) are asked
again until every instruction has n samples; ``batch_size`` requests are in flight.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ssl
import time
from typing import Sequence

import openai

from sparse_feedback.backends import (
    AbortRun, Completion, GenerationError, Item, Messages, OnResult, RequestError, RetryPolicy, TransientError,
)
from sparse_feedback.templates import alpaca_prompt, user_message

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def is_local(base_url: str | None) -> bool:
    """True for a server on this machine, which usually needs no API key.

    >>> is_local("http://127.0.0.1:8000/v1"), is_local("https://api.openai.com/v1"), is_local(None)
    (True, False, False)
    """
    from urllib.parse import urlparse

    host = urlparse(base_url or "").hostname or ""
    return host in LOCAL_HOSTS or host.endswith(".localhost")


def retry_after(headers) -> float | None:
    """Seconds a 429/503 asks us to wait: ``retry-after-ms``, ``retry-after`` seconds or HTTP date.

    >>> retry_after({"retry-after": "2"}), retry_after({"retry-after-ms": "250"}), retry_after({})
    (2.0, 0.25, None)
    """
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, when.timestamp() - time.time()) if when else None


class OpenAIBackend:
    """The client's own retries are off (``max_retries=0``): every retry follows the one :class:`RetryPolicy`
    (the judge engine's, or ``retry`` for sampling)."""

    name = "openai"

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0, temperature: float = 0.0, max_tokens: int | None = 32,
                 retry: RetryPolicy | None = None, max_retries: int | None = None,
                 sample_timeout: float = 600.0):
        self.model, self.base_url, self.timeout = model, base_url, timeout
        self.model_name = model
        self.retry = RetryPolicy(max_retries=max_retries) if max_retries is not None else (retry or RetryPolicy())
        self.sample_timeout = sample_timeout
        self._api_key = api_key or "EMPTY"  # local servers accept any key; the client insists on one
        self._sampling = {"temperature": temperature}
        if max_tokens:
            self._sampling["max_tokens"] = max_tokens
        self._clients: dict[int, openai.AsyncOpenAI] = {}
        self._options = {"max_retries": 0, "timeout": timeout, "headers": {}}
        self._tls = tls_context()  # once per process, not once per event loop

    @property
    def params(self) -> dict:
        return dict(self._sampling)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._api_key,) if self._api_key != "EMPTY" else ()

    def _client(self) -> openai.AsyncOpenAI:
        # One client per event loop: an httpx pool cannot outlive the loop it was opened on.
        loop = id(asyncio.get_running_loop())
        if loop not in self._clients:
            self._clients[loop] = openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url,
                                                     timeout=self.timeout, max_retries=0,
                                                     http_client=_http_client(self.timeout, self._tls))
        return self._clients[loop]

    async def complete(self, messages: Messages, choices: Sequence[str] = ()) -> Completion:
        body = {"model": self.model, "messages": list(messages), **self._sampling}
        reply = await self._post("/chat/completions", body)
        try:
            text = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise TransientError("malformed reply (no choices[0].message.content)") from None
        usage = reply.get("usage") or {}
        tokens = (int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)) if usage else None
        return Completion(text if isinstance(text, str) else "", usage=tokens)

    async def aclose(self) -> None:
        client = self._clients.pop(id(asyncio.get_running_loop()), None)
        if client is not None:
            await client.close()


    def generate(self, items: list[Item], config, on_result: OnResult) -> None:
        """n samples per instruction (see the module docstring); a failure after retries is a GenerationError."""
        try:
            asyncio.run(self._generate(items, config, on_result))
        except (TransientError, RequestError, AbortRun) as err:
            raise GenerationError(f"{self.base_url}: {err}") from None

    async def _generate(self, items: list[Item], config, on_result: OnResult) -> None:
        gate = asyncio.Semaphore(config.batch_size)

        async def one(item: Item) -> tuple[int, list[str]]:
            async with gate:
                return item[0], await self._samples(item, config)

        tasks = [asyncio.ensure_future(one(item)) for item in items]
        try:
            for done in asyncio.as_completed(tasks):
                index, responses = await done
                on_result(index, responses)
        finally:  # on the first failure, end the rest quietly
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.aclose()

    async def _samples(self, item: Item, config) -> list[str]:
        _, instruction, input = item
        texts: list[str] = []
        while len(texts) < config.n:
            want = config.n - len(texts)
            body = dict(model=self.model, n=want, max_tokens=config.max_new_tokens, temperature=config.temperature,
                        top_p=config.top_p, seed=config.seed + len(texts))
            if config.prompt_format == "alpaca":
                reply = await self.retry.run(lambda: self._post("/completions", {
                    **body, "prompt": alpaca_prompt(instruction, input)}, self.sample_timeout))
                got = [c.get("text") or "" for c in _choices(reply)]
            else:
                reply = await self.retry.run(lambda: self._post("/chat/completions", {
                    **body, "messages": [{"role": "user", "content": user_message(instruction, input)}]},
                    self.sample_timeout))
                got = [(c.get("message") or {}).get("content") or "" for c in _choices(reply)]
            if not got:
                raise RequestError(f"the server returned no choices for model {self.model!r}")
            texts.extend(t.strip() for t in got[:want])
        return texts

    async def _post(self, path: str, body: dict, timeout: float | None = None) -> dict:
        """One request; failures become TransientError / RequestError / AbortRun."""
        options = self._options if timeout is None else {**self._options, "timeout": timeout}
        try:
            # client.post skips the typed-parameter transform and response model (~1 ms CPU per call),
            # which otherwise bounds throughput at high concurrency on a small machine.
            # Explicit options spare the client deep-copying its defaults for every request.
            reply = await self._client().post(path, body=body, cast_to=object, options=options)
        except openai.APITimeoutError:
            raise TransientError(f"no reply within {options['timeout']:g} s") from None
        except openai.APIConnectionError as err:
            raise TransientError(f"connection failed ({type(err.__cause__ or err).__name__})") from None
        except openai.APIStatusError as err:
            raise _status_error(err) from None
        return reply


def _choices(reply) -> list[dict]:
    choices = reply.get("choices") if isinstance(reply, dict) else None
    return [c for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context the OpenAI client builds by default, built once per process (~65 ms the
    first time: it imports the connection layer and loads the CA store), not once per event loop."""
    try:
        import httpx2 as httpx  # what openai >= 3 sends requests with
    except ImportError:
        import httpx
    return httpx.create_ssl_context()


def _http_client(timeout: float, tls: ssl.SSLContext):
    """aiohttp under the OpenAI client where installed (the ``openai[aiohttp]`` extra): per request it
    costs about half the CPU of httpx's pool, which is what bounds throughput at high concurrency on a
    small machine; else the client's default httpx transport."""
    try:
        return openai.DefaultAioHttpClient(timeout=timeout, verify=tls)
    except RuntimeError:  # the extra is not installed
        return openai.DefaultAsyncHttpxClient(timeout=timeout, verify=tls)


def _status_error(err: openai.APIStatusError) -> Exception:
    status = err.status_code
    message = f"HTTP {status}: {_server_message(err)}"
    if status == 429 or status >= 500 or status in (408, 409):
        return TransientError(message, retry_after(err.response.headers))
    if status in (401, 403, 404):
        return AbortRun(message)
    return RequestError(message)


def _server_message(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        body = body.get("message", body)
    return str(body or err.message)[:300]
