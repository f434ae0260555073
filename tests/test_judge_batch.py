"""The judge through the Batch API, against the fake's /v1/files and /v1/batches."""

from __future__ import annotations

import sqlite3

import pytest
from fake_openai import FakeJudgeServer, faults_by_hash
from judge_helpers import backend, rating_tasks

from sparse_feedback.judge import AnswerCache, judge
from sparse_feedback.judge.batch import BatchOptions, judge_batch, list_batches

FAST = BatchOptions(poll=0.005, max_poll=0.01)
QUIET = {"log": lambda line: None}


def ranking_tasks(n):
    return rating_tasks(n).rename(columns={"response": "response1"}).assign(response2="Something else.")


@pytest.mark.slow  # the first OpenAI client and a live run take seconds
def test_batch_answers_every_task_into_the_same_cache_with_usage(tmp_path):
    with FakeJudgeServer() as server, AnswerCache(tmp_path / "c.db") as cache:
        result = judge_batch("ratings", rating_tasks(12), backend(server), cache, options=FAST, **QUIET)
        assert server.requests == 0  # no live request: everything went through the batch
        assert [len(server.batches.uploads), len(server.batches.created)] == [1, 1]
        batch = server.batches.batches[server.batches.created[0]]
        assert batch["endpoint"] == "/v1/chat/completions" and batch["completion_window"] == "24h"
        assert server.batches.files[batch["input_file_id"]]["meta"]["purpose"] == "batch"
        assert result.stats.answered == 12 and result.stats.cached == 0 and result.stats.requests == 12
        with AnswerCache(tmp_path / "live.db") as live_cache:
            live = judge("ratings", rating_tasks(12), backend(server), live_cache, show_progress=False)
        assert [r.rating for r in result.judgements] == [r.rating for r in live.judgements]
        assert result.stats.prompt_tokens > 0 and cache.usage()[0] == result.stats.prompt_tokens
        assert "tokens:" in result.summary()


@pytest.mark.slow
def test_rankings_batch_asks_both_orders(tmp_path):
    with FakeJudgeServer() as server, AnswerCache(tmp_path / "c.db") as cache:
        result = judge_batch("rankings", ranking_tasks(5), backend(server), cache, options=FAST, **QUIET)
    assert result.stats.answered == 5 and result.stats.requests == 10
    assert all(j.position_ab and j.position_ba for j in result.judgements)


@pytest.mark.slow
def test_files_are_split_under_the_line_and_byte_limits(tmp_path):
    with FakeJudgeServer() as server, AnswerCache(tmp_path / "c.db") as cache:
        options = BatchOptions(poll=0.005, max_poll=0.01, max_lines=4)
        result = judge_batch("ratings", rating_tasks(10), backend(server), cache, options=options, **QUIET)
        assert result.stats.answered == 10 and len(server.batches.uploads) == 3
        sizes = [len(f["data"].splitlines()) for f in server.batches.files.values() if f["meta"]["purpose"] == "batch"]
        assert sizes == [4, 4, 2]


@pytest.mark.slow
def test_error_file_lines_and_unparsable_answers_are_retried_in_a_smaller_batch(tmp_path):
    plan = faults_by_hash({0: "500", 1: "garbage", 2: "garbage"})  # first attempt only
    with FakeJudgeServer(fault=plan) as server, AnswerCache(tmp_path / "c.db") as cache:
        result = judge_batch("ratings", rating_tasks(40), backend(server), cache, options=FAST, **QUIET)
        first, retry = (server.batches.batches[b]["request_counts"]["total"] for b in server.batches.created)
    assert result.stats.answered == 40 and first == 40 and 0 < retry < first


@pytest.mark.slow
def test_retry_live_sends_the_leftovers_to_the_live_endpoint(tmp_path):
    plan = faults_by_hash({0: "500"})
    with FakeJudgeServer(fault=plan) as server, AnswerCache(tmp_path / "c.db") as cache:
        options = BatchOptions(poll=0.005, max_poll=0.01, retry="live")
        result = judge_batch("ratings", rating_tasks(30), backend(server), cache, options=options, **QUIET)
        assert result.stats.answered == 30 and len(server.batches.created) == 1 and server.requests > 0


@pytest.mark.slow
def test_an_expired_batch_keeps_what_finished_and_says_what_is_left(tmp_path):
    lines = []
    with FakeJudgeServer(batch={"outcome": "expired"}) as server, AnswerCache(tmp_path / "c.db") as cache:
        result = judge_batch("ratings", rating_tasks(10), backend(server), cache, options=FAST, log=lines.append)
        assert result.stats.answered == 5 and result.stats.failed == 5 and len(server.batches.created) == 1
        assert result.extras["left"] == 5 and any("5 question(s) left" in line for line in lines)
        assert all("expired" in j.error for j in result.judgements if not j.answered)
        server.batches.outcome = "completed"
        again = judge_batch("ratings", rating_tasks(10), backend(server), cache, options=FAST, **QUIET)
    assert again.stats.answered == 10 and again.stats.cached == 5 and again.stats.requests == 5


@pytest.mark.slow  # the client's own retries of the 500s take seconds
def test_keys_are_committed_before_the_upload_returns_and_a_rerun_after_a_crash_never_reuploads(tmp_path):
    db = tmp_path / "c.db"
    seen = []

    def on_upload(filename):  # the server has the file; the client has not heard back yet
        with sqlite3.connect(db) as con:
            seen.append(con.execute("SELECT COUNT(*) FROM batch_tasks").fetchone()[0])

    with FakeJudgeServer(batch={"on_upload": on_upload, "fail_create": 10}) as server:
        with AnswerCache(db) as cache, pytest.raises(Exception):  # dies between upload and create
            judge_batch("ratings", rating_tasks(8), backend(server), cache, options=FAST, **QUIET)
        assert seen == [8] and len(server.batches.uploads) == 1 and not server.batches.created
        server.batches.fail_create = 0
        with AnswerCache(db) as cache:
            result = judge_batch("ratings", rating_tasks(8), backend(server), cache, options=FAST, **QUIET)
            assert result.stats.answered == 8 and len(server.batches.uploads) == 1
            assert len(server.batches.created) == 1
            again = judge_batch("ratings", rating_tasks(8), backend(server), cache, options=FAST, **QUIET)
        assert again.stats.cached == 8 and again.stats.requests == 0
        assert len(server.batches.uploads) == 1 and len(server.batches.created) == 1
    assert [row["status"] for row in list_batches(db)] == ["completed"]
