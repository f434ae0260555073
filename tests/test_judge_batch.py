"""The judge through the Batch API, against the fake's /v1/files and /v1/batches."""

from __future__ import annotations

import sqlite3

import pytest
from fake_openai import FakeJudgeServer, faults_by_hash
from judge_helpers import backend, rating_tasks

from sparse_feedback.judge import AnswerCache, judge
from sparse_feedback.judge.batch import BatchOptions, BatchRun, judge_batch, list_batches

FAST = BatchOptions(batch_poll=0.005, batch_max_poll=0.01)
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
        options = BatchOptions(batch_poll=0.005, batch_max_poll=0.01, batch_max_lines=4)
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
        options = BatchOptions(batch_poll=0.005, batch_max_poll=0.01, batch_retry="live")
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


def _judge_cli(server, tasks, tmp_path, *extra):
    from judge_helpers import judge_args, write_csv

    from sparse_feedback.cli import main

    path = write_csv(tasks, tmp_path / "tasks.csv")
    args = judge_args(server, path, tmp_path / "out.csv", tmp_path / "c.db", *extra)
    return main([str(a) for a in args])


@pytest.mark.slow
def test_dry_run_prints_requests_tokens_and_cost_and_sends_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "")
    with FakeJudgeServer() as server:
        assert _judge_cli(server, rating_tasks(6), tmp_path) == 0  # fills the cache with 6 answers
        capsys.readouterr()
        code = _judge_cli(server, rating_tasks(10), tmp_path, "--dry-run", "--price-in", "0.15", "--price-out", "0.6")
        out = capsys.readouterr().out
        assert code == 0 and server.requests == 6 and not (tmp_path / "out.csv").read_text().count("\n") > 7
    assert "tasks:                 10" in out and "tasks already cached:  6" in out
    assert "requests to send:      4" in out and "at most 128" in out  # 4 × --max-tokens 32
    assert ("character estimate" in out) or ("tiktoken" in out)
    assert "live" in out and "batch" in out and "$0.15 in / $0.6 out" in out


@pytest.mark.slow
def test_max_cost_stops_sending_and_keeps_what_was_answered(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "")
    with FakeJudgeServer() as server:
        # About 120 prompt tokens and 32 answer tokens a request at $1/$1 per million: ~$0.00015 each.
        code = _judge_cli(server, rating_tasks(20), tmp_path, "--max-cost", "0.0008", "--price-in", "1",
                          "--price-out", "1", "--concurrency", "1")
        out = capsys.readouterr().out
        sent = server.requests
    failed = (tmp_path / "out.failed.csv").read_text()
    assert code == 1 and 0 < sent < 20 and "--max-cost" in failed
    assert f"{sent}/20 answered" in out and "$0.000" in out


@pytest.mark.slow
def test_batch_cli_then_batches_lists_it_and_cancel_asks_the_server(tmp_path, capsys, monkeypatch):
    from sparse_feedback.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", "")
    with FakeJudgeServer() as server:
        assert _judge_cli(server, rating_tasks(6), tmp_path, "--batch", "--batch-poll", "0.005") == 0
        assert server.requests == 0 and len(server.batches.created) == 1
        assert "6/6 answered" in capsys.readouterr().out
        assert main(["judge", "batches", "--cache", str(tmp_path / "c.db")]) == 0
        listing = capsys.readouterr().out
        assert server.batches.created[0] in listing and "completed" in listing and "6/6 done" in listing
        server.batches.polls_in_progress = 10**6  # the next batch keeps running until cancelled
        with AnswerCache(tmp_path / "c.db") as cache:
            run = BatchRun(backend(server), cache, lambda text: text, FAST, lambda line: None)
            run.submit({"k1": [{"role": "user", "content": "Describe item 1."}]})
            run.close()
        running = server.batches.created[-1]
        assert main(["judge", "batches", "--cache", str(tmp_path / "c.db"), "--cancel", "batch_nope"]) == 2
        assert main(["judge", "batches", "--cache", str(tmp_path / "c.db"), "--cancel", running]) == 0
        assert server.batches.batches[running]["status"] == "cancelling" and "cancelling" in capsys.readouterr().out
        assert main(["judge", "batches", "--cache", str(tmp_path / "c.db")]) == 0
        assert "open: a rerun" in capsys.readouterr().out


@pytest.mark.slow
def test_llm_tab_batch_mode_stores_the_answers_and_shows_tokens_and_money(tmp_path):
    from tests.appserver import small_generation

    from sparse_feedback.judge.costs import Prices
    from sparse_feedback.store import Store
    from sparse_feedback.jobs.llm import run_llm_judge

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.create_project_from_generation(small_generation(3, 4), "p", overlap=1)
    seen = []
    with FakeJudgeServer() as server:
        summary = run_llm_judge(store, "p", "ratings", server.base_url, "fake-judge", cache_path=tmp_path / "c.db",
                                batch=FAST, prices=Prices(1.0, 2.0))
        assert server.requests == 0 and len(server.batches.created) == 1
        live = run_llm_judge(store, "p", "rankings", server.base_url, "fake-judge", cache_path=tmp_path / "c.db",
                             prices=Prices(1.0, 2.0), callback=lambda done, total, desc: seen.append(desc))
    assert "12 judgements stored" in summary and "Batch API" in summary and "tokens:" in summary and "$" in summary
    assert "tokens:" in live and any("spent $" in desc and "tokens" in desc for desc in seen)
    store.close()


@pytest.mark.slow
def test_the_batch_jsonl_can_be_written_for_another_runner_and_its_output_read_back(tmp_path, capsys, monkeypatch):
    """The vLLM path: --write-batch, a runner answers each line, --read-batch fills the cache."""
    import json

    from fake_openai import completion, default_answer

    monkeypatch.setenv("OPENAI_API_KEY", "")
    with FakeJudgeServer() as server:
        assert _judge_cli(server, rating_tasks(5), tmp_path, "--write-batch", tmp_path / "requests.jsonl") == 0
        requests = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
        assert len(requests) == 5 and requests[0]["url"] == "/v1/chat/completions"
        answers = [{"id": f"r{i}", "custom_id": r["custom_id"], "error": None, "response": {"status_code": 200,
                    "body": completion("m", default_answer(r["body"]["messages"][0]["content"]))}}
                   for i, r in enumerate(requests[:4])]  # the runner answered four of five
        (tmp_path / "results.jsonl").write_text("".join(json.dumps(a) + "\n" for a in answers))
        assert _judge_cli(server, rating_tasks(5), tmp_path, "--read-batch", tmp_path / "results.jsonl") == 1
        assert server.requests == 0 and "4/5 answered" in capsys.readouterr().out


@pytest.mark.slow
def test_batch_against_a_server_without_the_batch_api_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "")
    with FakeJudgeServer(batch_api=False) as server:  # as vLLM's or llama.cpp's server
        code = _judge_cli(server, rating_tasks(4), tmp_path, "--batch", "--batch-poll", "0.01")
        err = capsys.readouterr().err.strip().splitlines()
        assert server.batch_requests_refused >= 1 and server.requests == 0
    assert code == 2
    assert len(err) == 1 and "Traceback" not in err[0] and "NotFoundError" not in err[0]
    assert f"{server.base_url} offers no Batch API" in err[0] and "/v1/files answered 404" in err[0]


@pytest.mark.slow
@pytest.mark.parametrize("step", ["upload", "create", "poll", "download"])
def test_a_garbage_reply_during_a_batch_names_the_server_the_step_and_the_batch(step, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "")
    with FakeJudgeServer(batch={"garbage": step}) as server:
        code = _judge_cli(server, rating_tasks(4), tmp_path, "--batch", "--batch-poll", "0.01",
                          "--batch-max-poll", "0.01")
        created = list(server.batches.created)
    lines = capsys.readouterr().err.strip().splitlines()
    error = [line for line in lines if line.startswith("error:")]
    assert code == 1 and len(error) == 1 and "Traceback" not in "\n".join(lines), lines
    assert server.base_url in error[0] and f"Batch API {step} step" in error[0], error[0]
    if step in ("poll", "download"):
        assert created and f"batch {created[0]}" in error[0]
    assert not (tmp_path / "out.csv").exists()  # nothing half-written
