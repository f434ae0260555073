"""``judge ratings|rankings`` end to end: real subprocesses against the fault-injecting fake server."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT
from fake_openai import FakeJudgeServer, faults_by_hash
from judge_helpers import judge_args, rating_tasks, write_csv

from sparse_feedback.formats import read_ranking_feedback, read_rating_feedback

SECRET = "sk-test-DO-NOT-LEAK-9f3a71c2"
NO_KEY = {"OPENAI_API_KEY": ""}


@pytest.mark.slow
def test_output_has_a_header_input_order_and_a_failed_list(cli, tmp_path):
    tasks = write_csv(rating_tasks(40), tmp_path / "tasks.csv")
    out = tmp_path / "feedback.csv"
    plan = faults_by_hash({0: "429", 1: "500", 2: "drop"}, always="garbage")
    with FakeJudgeServer(fault=plan) as server:
        run = cli(*judge_args(server, tasks, out, tmp_path / "c.db"), env=NO_KEY)
    assert run.returncode == 1, run.stderr
    frame = pd.read_csv(out, keep_default_na=False)
    assert list(frame.columns)[:6] == ["instruction", "input", "output", "rating", "raw_answer", "model"]
    failed = pd.read_csv(tmp_path / "feedback.failed.csv", keep_default_na=False)
    assert len(frame) + len(failed) == 40 and len(failed) > 0
    assert failed["error"].str.contains("unparsable").all()
    order = rating_tasks(40)["instruction"].tolist()
    assert frame["instruction"].tolist() == [i for i in order if i in set(frame["instruction"])]
    assert len(read_rating_feedback(out)) == len(frame)  # the project's own reader takes it back
    assert f"{len(frame)}/40 answered" in run.stdout and f"{len(failed)} failed" in run.stdout


@pytest.mark.slow
def test_rerun_sends_zero_requests_and_exits_0(cli, tmp_path):
    tasks = write_csv(rating_tasks(25), tmp_path / "tasks.csv")
    out = tmp_path / "feedback.csv"
    with FakeJudgeServer() as server:
        first = cli(*judge_args(server, tasks, out, tmp_path / "c.db"), env=NO_KEY)
        sent = server.requests
        again = cli(*judge_args(server, tasks, out, tmp_path / "c.db"), env=NO_KEY)
        assert server.requests == sent == 25
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert "25 from cache" in again.stdout and "0 requests sent" in again.stdout
    assert not (tmp_path / "feedback.failed.csv").exists()


@pytest.mark.slow
def test_seed_format_is_the_original_headerless_layout(cli, tmp_path):
    pairs = pd.DataFrame({"instruction": ["Pick.", "Choose."], "input": ["", "x"],
                          "response1": ["one", "uno"], "response2": ["two", "dos"]})
    tasks = write_csv(pairs, tmp_path / "pairs.csv")
    out = tmp_path / "rankings.csv"
    with FakeJudgeServer() as server:
        args = judge_args(server, tasks, out, tmp_path / "c.db", "--format", "seed")
        run = cli(*(["judge", "rankings"] + args[2:]), env=NO_KEY)
        assert server.requests == 4  # both orders of both pairs
    assert run.returncode == 0, run.stderr
    rows = pd.read_csv(out, header=None, keep_default_na=False)
    assert rows.shape == (2, 5) and rows[0].tolist() == ["Pick.", "Choose."]
    assert set(read_ranking_feedback(out)["feedback"]) <= {"(a)", "(b)", "equal"}
    assert "position bias:" in run.stdout


@pytest.mark.slow
def test_prompt_template_file_replaces_the_packaged_prompt(cli, tmp_path):
    template = tmp_path / "mine.txt"
    template.write_text("RATE {instruction} / {input} / {response} with 1-7: {not_a_field}")
    tasks = write_csv(rating_tasks(2), tmp_path / "tasks.csv")
    with FakeJudgeServer() as server:
        run = cli(*judge_args(server, tasks, tmp_path / "o.csv", tmp_path / "c.db",
                              "--prompt-template", template), env=NO_KEY)
        prompts = [s.prompt for s in server.log]
    assert run.returncode == 0, run.stderr
    assert prompts and all(p.startswith("RATE Describe item") and p.endswith("{not_a_field}") for p in prompts)
    template.write_text("RATE {instruction} and nothing else")
    bad = cli(*judge_args(server, tasks, tmp_path / "o2.csv", tmp_path / "c.db", "--prompt-template", template))
    assert bad.returncode == 2 and "{response}" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_missing_key_with_a_remote_url_is_a_clear_error(cli, tmp_path):
    tasks = write_csv(rating_tasks(2), tmp_path / "tasks.csv")
    run = cli("judge", "ratings", "--input", tasks, "--output", tmp_path / "o.csv", "--model", "m",
              "--base-url", "https://judge.example.com/v1", "--api-key-env", "MY_JUDGE_KEY",
              "--cache", tmp_path / "c.db", env={"MY_JUDGE_KEY": ""})
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "no API key" in run.stderr and "MY_JUDGE_KEY" in run.stderr
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.slow
def test_api_key_never_reaches_disk_logs_or_errors(cli, tmp_path):
    tasks = write_csv(rating_tasks(30), tmp_path / "tasks.csv")
    out = tmp_path / "out" / "feedback.csv"
    plan = faults_by_hash({0: "echo_key", 1: "429", 2: "500"}, modulus=5, always="garbage")
    with FakeJudgeServer(fault=plan) as server:
        run = cli(*judge_args(server, tasks, out, tmp_path / "c.db", "--api-key-env", "JUDGE_KEY"),
                  env={"JUDGE_KEY": SECRET, "SPARSE_FEEDBACK_HOME": str(tmp_path / "home")})
        auth = {s.auth for s in server.log}
    assert auth == {f"Bearer {SECRET}"}  # the key was really used
    failed = pd.read_csv(out.with_name("feedback.failed.csv"), keep_default_na=False)
    assert failed["error"].str.contains(r"Bearer \*\*\*").any()  # the server echoed it; we blanked it
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "c.db" for p in written) and len(written) >= 4
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in run.stdout + run.stderr


def _committed(cache: Path) -> int:
    with sqlite3.connect(cache) as db:
        return db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]


@pytest.mark.slow
def test_killed_mid_run_the_rerun_completes_without_resending_answered_prompts(tmp_path):
    tasks = write_csv(rating_tasks(80), tmp_path / "tasks.csv")
    out, cache = tmp_path / "feedback.csv", tmp_path / "c.db"
    with FakeJudgeServer(latency=0.05) as server:
        args = [sys.executable, "-m", "sparse_feedback",
                *map(str, judge_args(server, tasks, out, cache, "--concurrency", "4"))]
        proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **NO_KEY},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(server.answered_prompts()) < 20 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first_run = set(server.answered_prompts())
        server.reset()
        kept = _committed(cache)
        assert 0 < kept < 80 and not out.exists()
        rerun = subprocess.run(args, cwd=ROOT, env={**os.environ, **NO_KEY}, capture_output=True, text=True)
        resent = [s.prompt for s in server.log]
    assert rerun.returncode == 0, rerun.stderr
    assert len(resent) == 80 - kept == len(set(resent))  # only what the cache lacked, each once
    assert len(set(resent) & first_run) <= len(first_run) - kept  # at most the answers lost in flight
    assert len(pd.read_csv(out)) == 80 and f"{kept} from cache" in rerun.stdout


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["ratings", "rankings"])
def test_help_lists_the_issue_options(cli, protocol):
    run = cli("judge", protocol, "--help")
    for option in ("--input", "--output", "--model", "--base-url", "--api-key-env", "--concurrency",
                   "--max-retries", "--cache", "--temperature", "--backend", "--prompt-template", "--format"):
        assert option in run.stdout


@pytest.mark.slow
def test_a_run_where_every_task_failed_keeps_the_existing_output_says_so_and_exits_1(tmp_path, capsys,
                                                                                     monkeypatch):
    from sparse_feedback.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", "")
    tasks = write_csv(rating_tasks(6), tmp_path / "tasks.csv")
    out = tmp_path / "feedback.csv"
    with FakeJudgeServer() as server:
        assert main([str(a) for a in judge_args(server, tasks, out, tmp_path / "good.db")]) == 0
    before = out.read_bytes()
    assert len(pd.read_csv(out)) == 6
    with FakeJudgeServer(fault=lambda prompt, attempt: "500") as server:  # a fresh cache: every request fails
        code = main([str(a) for a in judge_args(server, tasks, out, tmp_path / "bad.db")])
        assert server.requests > 0
    err = capsys.readouterr().err
    assert code == 1 and out.read_bytes() == before
    assert "no task was answered" in err and f"kept the existing {out}" in err
    assert len(pd.read_csv(tmp_path / "feedback.failed.csv")) == 6
