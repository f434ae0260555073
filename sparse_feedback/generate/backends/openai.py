"""Sampling from an OpenAI-compatible server (vLLM, TGI, Ollama, llama.cpp, OpenAI) with ``n=`` per request.

Chat models get the instruction as one user turn (``chat.completions``); ``prompt_format="alpaca"``
sends the Alpaca prompt to the plain ``completions`` endpoint. Servers that ignore ``n`` (Ollama) are
asked again until every instruction has n samples. Requests run concurrently (``batch_size`` in flight);
the client retries transient errors with backoff.
"""

from __future__ import annotations

import asyncio
import os

from sparse_feedback.generate.backends import Item, OnResult
from sparse_feedback.generate.config import SamplingConfig
from sparse_feedback.templates import alpaca_prompt, user_message


class OpenAIBackend:
    name = "openai"

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 max_retries: int = 5, timeout: float = 600.0):
        self.model_name = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        # Local servers accept any key; the client insists on one.
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.max_retries, self.timeout = max_retries, timeout

    def generate(self, items: list[Item], config: SamplingConfig, on_result: OnResult) -> None:
        import openai

        from sparse_feedback.generate.backends import GenerationError

        try:
            asyncio.run(self._generate(items, config, on_result))
        except (openai.APIConnectionError, openai.APIStatusError) as err:
            # The client already retried what can be retried (429, 5xx, timeouts, honouring Retry-After).
            raise GenerationError(f"{self.base_url or 'api.openai.com'}: {type(err).__name__}: "
                                  f"{getattr(err, 'message', err)}") from None

    async def _generate(self, items: list[Item], config: SamplingConfig, on_result: OnResult) -> None:
        from openai import AsyncOpenAI

        gate = asyncio.Semaphore(config.batch_size)
        async with AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=self.max_retries,
                               timeout=self.timeout) as client:
            async def one(item: Item) -> tuple[int, list[str]]:
                async with gate:
                    return item[0], await self._samples(client, item, config)

            tasks = [asyncio.ensure_future(one(item)) for item in items]
            try:
                for done in asyncio.as_completed(tasks):
                    index, responses = await done
                    on_result(index, responses)
            finally:  # on the first failure, end the rest quietly
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _samples(self, client, item: Item, config: SamplingConfig) -> list[str]:
        _, instruction, input = item
        texts: list[str] = []
        while len(texts) < config.n:
            want = config.n - len(texts)
            common = dict(model=self.model_name, n=want, max_tokens=config.max_new_tokens,
                          temperature=config.temperature, top_p=config.top_p, seed=config.seed + len(texts))
            if config.prompt_format == "alpaca":
                reply = await client.completions.create(prompt=alpaca_prompt(instruction, input), **common)
                got = [c.text or "" for c in reply.choices]
            else:
                reply = await client.chat.completions.create(
                    messages=[{"role": "user", "content": user_message(instruction, input)}], **common)
                got = [c.message.content or "" for c in reply.choices]
            if not got:
                raise RuntimeError(f"{self.base_url}: the server returned no choices for model {self.model_name!r}")
            texts.extend(t.strip() for t in got[:want])
        return texts
