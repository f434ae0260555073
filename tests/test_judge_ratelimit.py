"""Rate-limit pacing: the engine against the fake's token-bucket limit, and the pacer's rules."""

from __future__ import annotations

import asyncio
import time

from fake_openai import FakeJudgeServer
from judge_helpers import backend, rating_tasks

from sparse_feedback.judge import AnswerCache, JudgeConfig, judge_ratings
from sparse_feedback.judge.ratelimit import Pacer

RPM, BURST = 1800, 30  # 30 requests/s, one second's burst


def run(tmp_path, tasks, name: str, **config):
    with FakeJudgeServer(latency=0.02, rpm=RPM, burst=BURST) as server, AnswerCache(tmp_path / f"{name}.db") as cache:
        result = judge_ratings(tasks, backend(server, timeout=5), cache=cache, show_progress=False,
                               config=JudgeConfig(concurrency=32, max_retries=8, backoff=0.01, max_backoff=0.2, **config))
        log = list(server.log)
    return result, log


def test_engine_keeps_429s_rare_and_throughput_near_the_limit(tmp_path):
    rate = RPM / 60
    result, log = run(tmp_path, rating_tasks(BURST + int(rate * 3), tag="paced "), "paced")
    assert result.stats.answered == len(result.judgements) and result.stats.failed == 0
    refused = sum(s.status == 429 for s in log)
    assert refused / len(log) < 0.01, f"{refused} of {len(log)} requests got a 429"
    assert result.stats.throttled == refused
    ok = sorted(s.at for s in log if s.status == 200)
    # After the burst the bucket admits `rate` per second; the engine must use at least 90 % of it.
    paced = (len(ok) - BURST) / (ok[-1] - ok[0])
    assert paced >= 0.9 * rate, f"{paced:.1f} requests/s against a limit of {rate:.0f}/s"


def test_fixed_concurrency_without_pacing_hits_the_limit(tmp_path):
    """The same server refuses a fixed-concurrency run often: the check above can fail."""
    result, log = run(tmp_path, rating_tasks(BURST + 30, tag="fixed "), "fixed", fixed_concurrency=True)
    refused = sum(s.status == 429 for s in log)
    assert refused / len(log) > 0.05
    assert result.stats.throttled == refused


def test_429_halves_the_window_once_and_holds_starts_for_retry_after():
    async def scenario():
        pacer = Pacer(max_inflight=16, start=8)
        tickets = [await pacer.acquire() for _ in range(8)]
        for ticket in tickets:  # eight 429s from the same window: one cut
            pacer.release(ticket, {"retry-after": "0.2"}, throttled=True)
        window = pacer.window
        start = time.monotonic()
        await pacer.acquire()
        return window, time.monotonic() - start

    window, waited = asyncio.run(scenario())
    assert window == 4.0
    assert waited >= 0.15


def test_headers_pace_starts_at_the_servers_rate():
    async def scenario():
        pacer = Pacer(max_inflight=16, start=16)
        first = await pacer.acquire()
        # 10/s: 1 left of 10, full again in 0.9 s.
        pacer.release(first, {"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "1",
                              "x-ratelimit-reset-requests": "900ms"})
        start = time.monotonic()
        for _ in range(4):
            pacer.release(await pacer.acquire())
        return time.monotonic() - start

    elapsed = asyncio.run(scenario())
    assert 0.25 <= elapsed < 2.0  # one now, three more at 10/s
