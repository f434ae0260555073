"""The judge engine through the Python API against a fault-injecting OpenAI-compatible fake."""

from __future__ import annotations

import asyncio
import time

import pandas as pd
import pytest
from fake_openai import FakeJudgeServer, expected_rating, faults_by_hash, stable_hash
from judge_helpers import FAST, backend, rating_tasks

from sparse_feedback.judge import (
    AnswerCache, JudgeAborted, JudgeConfig, iter_ratings, judge_rankings, judge_ratings, protocol,
)

ALL_FAULTS = {0: "429", 1: "500", 2: "slow", 3: "garbage", 4: "drop"}


@pytest.fixture
def cache(tmp_path):
    with AnswerCache(tmp_path / "cache.db") as c:
        yield c


def prompt_of(row) -> str:
    return protocol("ratings").messages(instruction=row.instruction, input=row.input,
                                        response=row.response)[0]["content"]


@pytest.mark.slow
def test_every_task_ends_answered_or_failed_under_injected_faults(cache):
    tasks = rating_tasks(60)
    with FakeJudgeServer(fault=faults_by_hash(ALL_FAULTS, always="garbage"), slow_for=1.0) as server:
        result = judge_ratings(tasks, backend(server, timeout=0.3), cache=cache, config=FAST, show_progress=False)
        faults_seen = {s.fault for s in server.log}
        sent = server.requests
    assert faults_seen >= {"429", "500", "slow", "garbage", "drop"}
    assert [j.index for j in result.judgements] == list(range(60))  # none lost, none duplicated
    hopeless = {i for i, row in enumerate(tasks.itertuples()) if stable_hash(prompt_of(row)) % 10 == 9}
    assert hopeless and {j.index for j in result.judgements if not j.answered} == hopeless
    for j, row in zip(result.judgements, tasks.itertuples()):
        if j.answered:
            assert j.rating == expected_rating(prompt_of(row)) and j.error is None
        else:
            assert j.raw_answer.startswith("I am not able") and "unparsable" in j.error
    assert result.stats.requests == sent
    assert (result.stats.answered, result.stats.failed) == (60 - len(hopeless), len(hopeless))


@pytest.mark.slow
def test_unparsable_answers_are_retried_and_never_cached(cache):
    tasks = rating_tasks(20)
    with FakeJudgeServer(fault=lambda prompt, attempt: "garbage" if attempt < 2 else None) as server:
        result = judge_ratings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
        assert server.requests == 60  # two unparsable answers, then a good one, per task
    assert result.stats.answered == 20 and len(cache) == 20
    with FakeJudgeServer(fault=lambda prompt, attempt: "garbage") as server:
        again = judge_ratings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
        assert server.requests == 0
    assert [j.rating for j in again.judgements] == [j.rating for j in result.judgements]


@pytest.mark.slow
def test_failed_tasks_keep_their_last_raw_answer_and_only_they_are_retried(cache):
    tasks = rating_tasks(12)
    always_bad = faults_by_hash({}, modulus=3, always="garbage")
    with FakeJudgeServer(fault=always_bad) as server:
        first = judge_ratings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
    failed = first.stats.failed
    assert 0 < failed < 12 and len(first.failed()) == failed
    assert first.failed()["raw_answer"].str.startswith("I am not able").all()
    with FakeJudgeServer() as server:
        second = judge_ratings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
        assert server.requests == failed
    assert second.stats.answered == 12 and second.stats.cached == 12 - failed


@pytest.mark.slow
def test_rerun_sends_zero_requests(cache):
    tasks = rating_tasks(30)
    with FakeJudgeServer() as server:
        judge_ratings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
        before = server.requests
        again = judge_ratings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
        assert server.requests == before == 30
    assert again.stats.requests == 0 and again.stats.cached == 30


@pytest.mark.slow
def test_429_waits_as_long_as_retry_after_says(cache):
    tasks = rating_tasks(4)
    with FakeJudgeServer(fault=lambda p, attempt: "429" if attempt == 0 else None, retry_after="0.4") as server:
        result = judge_ratings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
        by_prompt: dict[str, list[float]] = {}
        for s in server.log:
            by_prompt.setdefault(s.prompt, []).append(s.at)
    assert result.stats.answered == 4
    for first, second in by_prompt.values():
        assert second - first >= 0.4


def test_backoff_doubles_with_jitter_up_to_the_cap():
    policy = JudgeConfig(backoff=1.0, max_backoff=5.0).retry  # the one policy every backend's retries follow
    for attempt, base in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)):
        waits = {policy.delay(attempt) for _ in range(50)}
        assert all(base / 2 <= w <= base for w in waits) and len(waits) > 1


@pytest.mark.slow
def test_same_question_twice_in_one_run_is_paid_once(cache):
    tasks = pd.concat([rating_tasks(3)] * 2, ignore_index=True)
    with FakeJudgeServer(latency=0.05) as server:
        result = judge_ratings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
        assert server.requests == 3
    assert [j.rating for j in result.judgements[:3]] == [j.rating for j in result.judgements[3:]]
    assert result.stats.answered == 6


@pytest.mark.slow
def test_results_are_yielded_as_they_complete(cache):
    tasks = rating_tasks(8)

    async def collect(server):
        seen, judge = [], backend(server)
        async for j in iter_ratings(tasks, judge, cache, config=JudgeConfig(concurrency=2)):
            seen.append((time.monotonic(), j.index))
        await judge.aclose()
        return seen

    with FakeJudgeServer(latency=0.1) as server:
        start = time.monotonic()
        seen = asyncio.run(collect(server))
    assert sorted(i for _, i in seen) == list(range(8))
    assert seen[0][0] - start < 0.25 < seen[-1][0] - start  # the first came long before the last


@pytest.mark.slow
def test_every_yielded_answer_is_already_on_disk_and_answers_are_committed_in_groups(cache, tmp_path):
    tasks, commits = rating_tasks(40), []
    put_many = cache.put_many
    cache.put_many = lambda rows: (commits.append(len(rows)), put_many(rows))[1]

    async def collect(server):
        judge, on_disk = backend(server), []
        async for j in iter_ratings(tasks, judge, cache, config=JudgeConfig(concurrency=40)):
            with AnswerCache(tmp_path / "cache.db") as other:  # a second connection, as after a kill
                on_disk.append(len(other))
        await judge.aclose()
        return on_disk

    with FakeJudgeServer(latency=0.05) as server:
        on_disk = asyncio.run(collect(server))
    assert all(n >= k for k, n in enumerate(on_disk, start=1))
    assert sum(commits) == 40 and len(commits) < 40  # replies that land together share a commit


@pytest.mark.slow
def test_a_failing_commit_fails_the_run_and_acknowledges_nothing(cache):
    def broken(rows):
        raise OSError("disk full")

    cache.put_many = broken
    with FakeJudgeServer() as server:
        with pytest.raises(OSError, match="disk full"):
            judge_ratings(rating_tasks(5), backend(server), cache=cache, config=FAST, show_progress=False)


@pytest.mark.slow
def test_bad_key_stops_the_run_without_caching(cache):
    with FakeJudgeServer(fault=lambda p, a: "401") as server:
        with pytest.raises(JudgeAborted, match="401"):
            judge_ratings(rating_tasks(10), backend(server), cache=cache, config=FAST, show_progress=False)
        assert server.requests <= FAST.concurrency
    assert len(cache) == 0


def preferred(prompt: str) -> str:
    """A judge that prefers the output containing GOOD, or always the first shown when told BIASED."""
    if "BIASED" in prompt:
        return "Output (a)"
    shown_a, shown_b = prompt.split("Output (a):")[1].split("Output (b):")
    return "Output (a)" if "GOOD" in shown_a else "Output (b) is better, because it is GOOD."


@pytest.mark.slow
def test_rankings_ask_both_orders_and_combine_them(cache):
    rows = ([("Pick one.", "GOOD answer", "weak answer")] * 1 + [("Pick two.", "weak", "GOOD")]
            + [("Pick three BIASED.", "x", "y"), ("Pick four.", "GOOD one", "bad one")])
    tasks = pd.DataFrame(rows, columns=["instruction", "response1", "response2"]).assign(input="")
    with FakeJudgeServer(answer=preferred) as server:
        result = judge_rankings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
        assert server.requests == 8
    assert [j.feedback for j in result.judgements] == ["(a)", "(b)", "equal", "(a)"]
    biased = result.judgements[2]
    assert (biased.raw_answer_ab, biased.raw_answer_ba) == ("Output (a)", "Output (a)")
    assert result.judgements[1].raw_answer_ab.startswith("Output (b) is better")
    bias = result.position_bias
    assert (bias.pairs, bias.disagree, bias.first_won, bias.second_won) == (4, 1, 1, 0)
    assert "1/4 pairs (25.0 %)" in result.summary()


@pytest.mark.slow
def test_a_pair_with_one_failed_order_fails_and_reruns_only_that_order(cache):
    tasks = pd.DataFrame({"instruction": ["Choose."], "input": [""], "response1": ["GOOD"], "response2": ["no"]})
    bad_ba = lambda prompt, attempt: "garbage" if prompt.split("Output (a):")[1].strip().startswith("no") else None
    with FakeJudgeServer(answer=preferred, fault=bad_ba) as server:
        first = judge_rankings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
    j = first.judgements[0]
    assert not j.answered and j.position_ab == "(a)" and j.error.startswith("ba: ")
    with FakeJudgeServer(answer=preferred) as server:
        second = judge_rankings(tasks, backend(server), cache=cache, config=FAST, show_progress=False)
        assert server.requests == 1
    assert second.judgements[0].feedback == "(a)"
