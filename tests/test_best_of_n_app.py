"""App, Best-of-n tab: a background generate + rerank + evaluate job with one or two RMs, live status, stop,
resume, browsing; a judge's API key is never written anywhere."""

import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest
from gradio_client import Client

from fake_openai import FakeJudgeServer, faults_by_hash
from sparse_feedback.report.inputs import evaluated_runs
from sparse_feedback.errors import SettingsError
from sparse_feedback.store import Store, StoreError
from sparse_feedback.ui import best_of_n as bon
from tests.appserver import running_app
from tiny_models import tiny_causal_lm, tiny_reward_model

pytestmark = pytest.mark.timeout(300)

INSTRUCTIONS = pd.DataFrame({"instruction": [f"Write a haiku about number {i}." for i in range(3)], "input": ""})


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    policy = tiny_causal_lm(root / "policy")
    return policy, tiny_reward_model(root / "rm_a", policy), tiny_reward_model(root / "rm_b", tiny_causal_lm(
        root / "other", seed=1))


KEY = "sk-bon-5e0c1d7a9f"  # distinctive, so any copy of it on disk is found by a byte search


def wait(store, job_id, timeout=240):
    return bon.wait_job(store, job_id, timeout)


def files_holding(root: Path, secret: str) -> list[str]:
    """Every file under ``root`` (the store's database and its WAL included) whose bytes contain ``secret``."""
    return [str(p) for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def settings(models, **kw):
    policy, rm_a, rm_b = models
    return bon.BestOfNSettings(**{"policy": str(policy), "n": 4, "max_new_tokens": 6,
                                  "reward_models": [str(rm_a), str(rm_b)], **kw})


@pytest.mark.slow
def test_job_samples_reranks_with_both_rms_and_is_browsable(tmp_path, models):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    job_id = bon.start_job(store, INSTRUCTIONS, settings(models), root=tmp_path / "jobs")
    assert wait(store, job_id)["status"] == "done", (tmp_path / "jobs" / f"job-{job_id}" / "log.txt").read_text()
    directory = bon.job_dir(store, job_id)
    assert {"candidates.json", "reference.json", "best_of_n_1.json", "best_of_n_2.json"} <= set(os.listdir(directory))
    result = bon.load_result(directory)
    assert result.labels[0] == "rankings RM (rm_a)" and len(result.instructions) == 3
    page = bon.render_instruction(result, 0)
    chosen = result.scored[0][0]["candidates"][result.scored[0][0]["chosen"]]["response"]
    assert page.count('class="chosen') == 2 and "Reference" in page
    assert (page.index("score") < page.index(chosen.replace("<", "&lt;")[:10]))
    for i in range(3):
        scores = [c["score"] for c in result.scored[1][i]["candidates"]]
        assert result.scored[1][i]["chosen"] == scores.index(max(scores))
    assert result.disagreements() == [i for i in range(3) if result.chosen_texts(i)[0] != result.chosen_texts(i)[1]]
    assert ("pick different" in page) == (0 in result.disagreements())


@pytest.mark.slow
def test_job_evaluates_each_rm_into_the_win_rates_tab_and_never_writes_the_judge_key(tmp_path, models, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(home))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    store = Store(f"sqlite:///{home / 'sparse_feedback.db'}")
    with FakeJudgeServer() as judge:
        job_id = bon.start_job(store, INSTRUCTIONS, settings(models, judge_model="judge", judge_backend="openai",
                                                              judge_base_url=judge.base_url), api_key=KEY)
        status = wait(store, job_id)
        assert status["status"] == "done", (bon.job_dir(store, job_id) / "log.txt").read_text()[-3000:]
        assert status["stage"].startswith("evaluate rankings RM (rm_b)")
        assert {s.auth for s in judge.log} == {f"Bearer {KEY}"}  # the key reached the judge ...
        prompts = [s.prompt for s in judge.log]
        assert len(prompts) == len(set(prompts)) > 0  # ... and the second RM's evaluation reused the cache
    assert files_holding(tmp_path, KEY) == []  # ... and nothing on disk: settings, log, store, cache
    directory = bon.job_dir(store, job_id)
    assert evaluated_runs(home) == [f"best_of_n/job-{job_id}/best_of_n_{k}.eval" for k in (1, 2)]
    for k in (1, 2):
        winrates = json.loads((directory / f"best_of_n_{k}.eval" / "winrates.json").read_text())
        assert winrates["ratings"]["n"] == winrates["rankings"]["n"] == len(INSTRUCTIONS)
    summary = bon.describe_evaluations(directory)
    assert summary.count("ratings: win-rate") == summary.count("rankings: win-rate") == 2
    assert "Win-rates" in summary and "Win-rates tab" in store.job(job_id)["message"]
    with pytest.raises(StoreError, match="is done"):
        bon.resume_job(store, job_id)


@pytest.mark.slow
def test_a_stopped_job_resumes_and_finishes(tmp_path, models):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    many = pd.DataFrame({"instruction": [f"Say {i}." for i in range(12)], "input": ""})
    job_id = bon.start_job(store, many, settings(models, batch_size=1), root=tmp_path / "jobs")
    bon.stop_job(store, job_id)
    deadline = time.monotonic() + 30
    while True:  # the process is ending after SIGTERM; resume waits for it
        try:
            assert bon.resume_job(store, job_id) == f"job {job_id} resumed"
            break
        except StoreError as err:
            assert "still ending" in str(err) and time.monotonic() < deadline
            time.sleep(0.1)
    with pytest.raises(StoreError, match="is running"):
        bon.resume_job(store, job_id)
    assert wait(store, job_id)["status"] == "done"
    assert len(json.loads((bon.job_dir(store, job_id) / "best_of_n_2.json").read_text())) == 12


@pytest.mark.slow
def test_stop_ends_a_running_job(tmp_path, models):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    many = pd.DataFrame({"instruction": [f"Say {i}." for i in range(200)], "input": ""})
    job_id = bon.start_job(store, many, settings(models, batch_size=1), root=tmp_path / "jobs")
    pid = store.job(job_id)["pid"]
    time.sleep(1)
    assert bon.stop_job(store, job_id) == f"best-of-n job {job_id} stopped"
    assert store.job(job_id)["status"] == "stopped"
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    else:
        raise AssertionError("the job's process is still alive")


@pytest.mark.slow
def test_more_than_64_candidates_or_a_missing_rm_is_refused(tmp_path, models):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(SettingsError, match="between 1 and 64"):
        bon.start_job(store, INSTRUCTIONS, settings(models, n=65))
    bad = bon.BestOfNSettings(policy="p", reward_models=[str(tmp_path)])
    with pytest.raises(SettingsError, match="not a trained reward-model directory"):
        bon.start_job(store, INSTRUCTIONS, bad)
    assert store.jobs(bon.JOB_KIND).empty


@pytest.mark.slow
def test_best_of_n_tab_through_the_app(tmp_path, models):
    policy, rm_a, rm_b = models
    with running_app(tmp_path, users="root:root-pw:admin,ann:ann-pw:annotator") as (url, store):
        annotator = Client(url, auth=("ann", "ann-pw"), verbose=False)
        with pytest.raises(Exception, match="admin"):
            annotator.predict("", None, "demo instructions (built in)", 2, str(policy), 2, 16, str(rm_a), "", "",
                              "", "", "", api_name="/best_of_n_start")
        admin = Client(url, auth=("root", "root-pw"), verbose=False)
        echo = faults_by_hash({0: "echo_key"}, modulus=3)  # a careless server echoes the key in errors
        with FakeJudgeServer(fault=echo) as judge:
            message, job = admin.predict("", None, "demo instructions (built in)", 2, str(policy), 3, 16, str(rm_a),
                                         str(rm_b), "", "judge", judge.base_url, KEY, api_name="/best_of_n_start")
            job_id = int(message.split("#")[1].rstrip("."))
            assert wait(store, job_id)["status"] == "done"
            assert {s.auth for s in judge.log} == {f"Bearer {KEY}"} and any(s.fault for s in judge.log)
        with pytest.raises(Exception, match="admin"):
            annotator.predict("", job_id, "", api_name="/best_of_n_resume")
        with pytest.raises(Exception, match="only an interrupted, stopped or failed job"):
            admin.predict("", job_id, "", api_name="/best_of_n_resume")
        picker, summary = admin.predict("", job_id, False, api_name="/best_of_n_browse")
        assert summary.startswith("2 instructions; the reward models disagree on")
        assert summary.count("win-rate") == 4 and "Win-rates" in summary
        assert files_holding(tmp_path, KEY) == []
        view = admin.predict("", job_id, 1, api_name="/best_of_n_show")
        assert "Give a synonym" not in view and "bon-candidates" in view and view.count(" · chosen") == 2


def test_browse_says_tie_when_the_models_pick_copies_of_one_text_and_differ_only_when_texts_differ():
    from sparse_feedback.ui.best_of_n import BestOfNResult, render_instruction

    def record(chosen, texts, scores):
        return {"instruction": "Say hi.", "input": "", "chosen": chosen,
                "candidates": [{"response": t, "score": s} for t, s in zip(texts, scores)]}

    texts = ["hello", "hey", "hello"]  # sampling repeats a text at two indices; a model scores the copies alike
    result = BestOfNResult(["ratings RM", "rankings RM"], {},
                           [[record(0, texts, [0.9, 0.1, 0.9]), record(0, texts, [0.9, 0.1, 0.9])],
                            [record(2, texts, [2.0, 0.5, 2.0]), record(1, texts, [0.2, 3.0, 0.2])]])
    assert result.choices(0) == [0, 2] and result.disagreements() == [1]
    tie = render_instruction(result, 0)
    assert "Tie: the reward models pick #1 and #3" in tie and "same candidate" not in tie
    assert tie.count(" · tie for first") == 4 and tie.count(" · chosen") == 2  # both copies shown in both lists
    assert "other RM's choice" not in tie
    same = BestOfNResult(["a", "b"], {}, [[record(1, texts, [0, 1, 0])], [record(1, texts, [0, 2, 0])]])
    assert "pick the same candidate (#2)" in render_instruction(same, 0)
    assert "tie for first" not in render_instruction(same, 0)
    assert "pick different" in render_instruction(result, 1)
