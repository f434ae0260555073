"""Ask a judge about many tasks at once: bounded concurrency, retries with backoff, cache, resumable.

``iter_ratings`` / ``iter_rankings`` yield judgements as they complete (for live progress);
``judge_ratings`` / ``judge_rankings`` are the synchronous wrappers returning a :class:`JudgeResult`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable

import pandas as pd

from sparse_feedback.backends import AbortRun, Backend, RequestError, TransientError, redact
from sparse_feedback.judge.cache import AnswerCache, cache_key
from sparse_feedback.judge.config import JudgeConfig
from sparse_feedback.judge.protocols import JudgeProtocol, protocol
from sparse_feedback.judge.results import (
    JudgeResult, Judgement, PairJudgement, Rating, RunStats, position_bias,
)
from sparse_feedback.progress import Progress, ProgressCallback
from sparse_feedback.protocols import combine_positions


class JudgeAborted(Exception):
    """The server refused in a way no retry can fix (bad key, unknown model)."""


@dataclass
class Answer:
    value: object
    text: str | None
    probs: dict | None = None
    cached: bool = False
    error: str | None = None


class _GroupCommit:
    """Answers that arrive in the same turn of the event loop are committed in one transaction; each
    ``put`` returns only once its answer is on disk, so nothing is reported that a kill could lose."""

    def __init__(self, cache: AnswerCache):
        self.cache = cache
        self.batch: list[tuple] = []
        self.done: asyncio.Future | None = None

    async def put(self, key: str, model: str, text: str, probs: dict | None, usage=None) -> None:
        if self.done is None:
            self.done = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(self._flush)
        self.batch.append((key, model, text, probs, usage))
        await asyncio.shield(self.done)

    def _flush(self) -> None:
        batch, done, self.batch, self.done = self.batch, self.done, [], None
        try:
            self.cache.put_many(batch)
        except Exception as err:  # every waiter of this batch sees the failure
            done.set_exception(err)
        else:
            done.set_result(None)


class _Asker:
    """Asks one question at a time per call, sharing a semaphore, the cache and the request count."""

    def __init__(self, backend: Backend, cache: AnswerCache, proto: JudgeProtocol, config: JudgeConfig,
                 stats: RunStats):
        self.backend, self.cache, self.proto, self.config, self.stats = backend, cache, proto, config, stats
        self.secrets = tuple(backend.secrets)
        self.semaphore = asyncio.Semaphore(config.concurrency)
        self.inflight: dict[str, asyncio.Task] = {}
        self.aborted: str | None = None
        self.commits = _GroupCommit(cache)

    async def ask(self, messages: list[dict]) -> Answer:
        key = cache_key(self.backend.name, self.backend.model, messages, self.backend.params)
        hit = self.cache.get(key)
        if hit is not None and (value := self.proto.parse(hit.text)) is not None:
            return Answer(value, hit.text, hit.probs, cached=True)
        if key in self.inflight:  # the same question twice in one run is paid once
            answer = await asyncio.shield(self.inflight[key])
            return Answer(answer.value, answer.text, answer.probs, cached=answer.error is None, error=answer.error)
        task = self.inflight[key] = asyncio.ensure_future(self._fetch(key, messages))
        return await task

    async def _fetch(self, key: str, messages: list[dict]) -> Answer:
        text, error = None, None
        for attempt in range(self.config.max_retries + 1):
            async with self.semaphore:
                if self.aborted:  # another request already learned that none can succeed
                    raise JudgeAborted(self.aborted)
                budget = self.config.budget
                held = budget.reserve(messages) if budget is not None else 0.0
                if held is None:
                    return Answer(None, text, error="not sent: --max-cost would be exceeded")
                self.stats.requests += 1
                completion = None
                try:
                    completion = await self.backend.complete(messages, self.proto.choices)
                except TransientError as err:
                    error, wait = str(err), err.retry_after
                except RequestError as err:
                    return Answer(None, text, error=redact(str(err), self.secrets))
                except AbortRun as err:
                    self.aborted = redact(str(err), self.secrets)
                    raise JudgeAborted(self.aborted) from None
                else:
                    self.stats.add_usage(completion.usage)
                    text = redact(completion.text, self.secrets)
                    value = self.proto.parse(text)
                    if value is not None:
                        await self.commits.put(key, self.backend.model, text, completion.probs, completion.usage)
                        return Answer(value, text, completion.probs)
                    error, wait = f"unparsable answer: {text[:200]!r}", 0.0
                finally:
                    if budget is not None:
                        budget.settle(held, completion.usage if completion is not None else None)
                        self.stats.cost = budget.spent
            if attempt < self.config.max_retries:
                await asyncio.sleep(self.config.retry.delay(attempt + 1, wait))
        tries = self.config.max_retries + 1
        return Answer(None, text, error=redact(f"gave up after {tries} tries; last: {error}", self.secrets))


def _row_values(frame: pd.DataFrame):
    return frame.to_dict(orient="records")


async def _rate(ask: _Asker, i: int, row: dict) -> Rating:
    a = await ask.ask(ask.proto.messages(instruction=row["instruction"], input=row["input"],
                                         response=row["response"]))
    expected = sum(int(c) * p for c, p in a.probs.items()) if a.probs else None
    return Rating(i, row["instruction"], row["input"], row["response"], a.value, a.text, ask.backend.model,
                  cached=a.cached, error=a.error, expected_rating=expected)


async def _rank(ask: _Asker, i: int, row: dict) -> PairJudgement:
    r1, r2 = row["response1"], row["response2"]
    base = {"instruction": row["instruction"], "input": row["input"]}
    ab, ba = await asyncio.gather(ask.ask(ask.proto.messages(**base, output_a=r1, output_b=r2)),
                                  ask.ask(ask.proto.messages(**base, output_a=r2, output_b=r1)))
    feedback = combine_positions(ab.value, ba.value)
    errors = "; ".join(f"{order}: {a.error}" for order, a in (("ab", ab), ("ba", ba)) if a.error)
    return PairJudgement(i, row["instruction"], row["input"], r1, r2, feedback, ab.text, ba.text,
                         ask.backend.model, ab.value, ba.value, cached=ab.cached and ba.cached,
                         error=errors or None)


_JUDGE = {"ratings": _rate, "rankings": _rank}


async def iter_judgements(kind: str, tasks: pd.DataFrame, backend: Backend, cache: AnswerCache,
                          template=None, config: JudgeConfig | None = None,
                          stats: RunStats | None = None) -> AsyncIterator[Judgement]:
    """Yield a judgement per task as each completes (any order; ``.index`` is the task's row)."""
    proto = template if isinstance(template, JudgeProtocol) else protocol(kind, template)
    stats = stats if stats is not None else RunStats()
    stats.total += len(tasks)
    config = config or JudgeConfig()
    ask = _Asker(backend, cache, proto, config, stats)
    judge: Callable[..., Awaitable[Judgement]] = _JUDGE[kind]
    todo = iter(enumerate(_row_values(tasks)))  # shared: each worker takes the next task
    finished: asyncio.Queue = asyncio.Queue()

    async def worker() -> None:
        try:
            for i, row in todo:
                finished.put_nowait(await judge(ask, i, row))
        except Exception as err:  # JudgeAborted and the like end the run, reported by the reader below
            finished.put_nowait(err)

    # As many workers as requests may be in flight: the first requests leave at once, and a task is
    # looked up in the cache only when a worker is free to ask it.
    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, min(config.concurrency, len(tasks))))]
    try:
        for _ in range(len(tasks)):
            judgement = await finished.get()
            if isinstance(judgement, Exception):
                raise judgement
            stats.add(judgement)
            yield judgement
    finally:
        for task in (*workers, *ask.inflight.values()):
            task.cancel()
        await asyncio.gather(*workers, *ask.inflight.values(), return_exceptions=True)


def iter_ratings(tasks, backend, cache, **kw) -> AsyncIterator[Judgement]:
    """Rating tasks (``instruction, input, response``) → :class:`Rating` as each completes."""
    return iter_judgements("ratings", tasks, backend, cache, **kw)


def iter_rankings(tasks, backend, cache, **kw) -> AsyncIterator[Judgement]:
    """Ranking tasks (``instruction, input, response1, response2``) → :class:`PairJudgement`, both orders asked."""
    return iter_judgements("rankings", tasks, backend, cache, **kw)


async def ajudge(kind: str, tasks: pd.DataFrame, backend: Backend, cache: AnswerCache, template=None,
                 config: JudgeConfig | None = None, progress: Progress | None = None) -> JudgeResult:
    """Judge every task; judgements come back in input order, failed ones included."""
    stats = RunStats()
    found: list[Judgement | None] = [None] * len(tasks)
    try:
        async for j in iter_judgements(kind, tasks, backend, cache, template, config, stats):
            found[j.index] = j
            if progress is not None:
                progress.update(answered=stats.answered, failed=stats.failed, requests=stats.requests,
                                tokens=f"{stats.prompt_tokens}+{stats.completion_tokens}",
                                **({"spent": f"${stats.cost:.4f}"} if stats.cost is not None else {}))
    finally:
        await backend.aclose()
    judgements = [j for j in found if j is not None]
    bias = None
    if kind == "rankings":
        bias = position_bias([(j.position_ab, j.position_ba) for j in judgements if j.answered])
    return JudgeResult(kind, judgements, stats, bias)


def judge(kind: str, tasks: pd.DataFrame, backend: Backend, cache: AnswerCache | None = None, template=None,
          config: JudgeConfig | None = None, callback: ProgressCallback | None = None,
          show_progress: bool | None = None) -> JudgeResult:
    """Synchronous wrapper over :func:`ajudge` with a progress bar (and ``callback`` for the app)."""
    own_cache = cache is None
    cache = AnswerCache() if own_cache else cache
    try:
        with Progress(len(tasks), f"judge {kind}", callback, disable=None if show_progress is None else not show_progress, unit="task") as bar:
            return asyncio.run(ajudge(kind, tasks, backend, cache, template, config, bar))
    finally:
        if own_cache:
            cache.close()


def judge_ratings(tasks, backend, **kw) -> JudgeResult:
    return judge("ratings", tasks, backend, **kw)


def judge_rankings(tasks, backend, **kw) -> JudgeResult:
    return judge("rankings", tasks, backend, **kw)
