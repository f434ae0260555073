"""The LLM tab end to end: the app calls the judge engine on a fake OpenAI-compatible server, shows live
progress, stores the answers as the LLM source, and the API key goes nowhere but the judge's server."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from gradio_client import Client

from sparse_feedback import formats
from sparse_feedback.judge import protocol as judge_protocol
from tests.appserver import running_app, small_generation
from tests.fake_openai import FakeJudgeServer, stable_hash

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120)]
SECRET = "sk-ui-DO-NOT-LEAK-4b7e02d9c1"


def _setup(store):
    store.create_project_from_generation(small_generation(3, 4), "p", overlap=1)


def _faults(prompt: str, attempt: int):
    """One prompt in five: a server that echoes the Authorization header in its error (a careless proxy);
    one in five: a 429 first. The rest answer at once."""
    r = stable_hash(prompt) % 5
    return {0: "echo_key", 1: "429" if attempt == 0 else None}.get(r)


def _files_with(root, needle: bytes) -> list:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _contain_temp_files(tmp_path, monkeypatch):
    """Gradio's uploads/downloads and every tempfile of the app land under tmp_path, which is grepped."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))


@pytest.mark.slow
def test_llm_tab_runs_the_judge_with_progress_and_the_key_never_leaks(tmp_path, monkeypatch, capfd):
    _contain_temp_files(tmp_path, monkeypatch)
    with FakeJudgeServer(fault=_faults, latency=0.05, retry_after="0.05") as server, \
            running_app(tmp_path, setup=_setup) as (url, store):
        admin = Client(url, auth=("root", "root-pw"), verbose=False)
        job = admin.submit("", "p", "ratings", server.base_url, "fake-judge", SECRET, "Live", api_name="/llm_run")
        progress = []
        while not job.done():
            status = job.status()
            if status.progress_data:
                progress.append(status.progress_data[0].index)
            time.sleep(0.02)
        message, key_box = job.result()
        auth_seen = {s.auth for s in server.log}
        first_requests = server.requests

        # A rerun (the key typed again) asks only what failed: the answers are cached.
        server.reset()
        again, _ = admin.predict("", "p", "ratings", server.base_url, "fake-judge", SECRET, "Live", api_name="/llm_run")
        resent = {s.prompt for s in server.log}

        echoed = {p for p in {s.prompt for s in server.log} | resent if stable_hash(p) % 5 == 0}
        llm = store.llm_ratings("p")
        jobs = store.jobs("judge")
        # What the browser may ask for afterwards: the admin view (jobs table), an export of the LLM source.
        later = [admin.predict("", "p", api_name="/admin_load"),
                 admin.predict("", "p", "ratings", "llm", "jsonl", api_name="/export")]
        export_file = later[1][1]

    assert auth_seen == {f"Bearer {SECRET}"}  # the key really went to the judge's server
    assert any(progress), "no live progress reached the client"
    assert message.startswith("Done: ratings:") and key_box == ""  # the key box is emptied after the run
    n_tasks = 12
    n_echo = sum(1 for p in _prompts(small_generation(3, 4)) if stable_hash(p) % 5 == 0)
    assert 0 < n_echo < n_tasks and first_requests > n_tasks  # some tasks failed, some were retried after a 429
    assert f"{n_tasks - n_echo} judgements stored from fake-judge" in message and f"{n_echo} task(s) failed" in message
    assert resent == echoed and f"{n_tasks - n_echo} of {n_tasks} tasks from cache" in again
    assert len(llm) == n_tasks - n_echo and set(llm["model"]) == {"fake-judge"}
    assert list(jobs["status"]) == ["done", "done"] and all("key" not in str(a) for a in jobs["args"])

    needle = SECRET.encode()
    assert SECRET not in message + again + repr(later)
    assert _files_with(tmp_path, needle) == []  # store, WAL, judge cache, Gradio's temp files
    assert needle not in Path(export_file).read_bytes()
    out, err = capfd.readouterr()
    assert SECRET not in out + err  # the server's log


def _prompts(generation):
    proto = judge_protocol("ratings")
    tasks = formats.rating_tasks(generation)
    return [proto.messages(instruction=r.instruction, input=r.input, response=r.response)[0]["content"]
            for r in tasks.itertuples()]


@pytest.mark.slow
def test_a_refused_key_fails_the_run_with_a_clean_message(tmp_path, monkeypatch, capfd):
    _contain_temp_files(tmp_path, monkeypatch)
    with FakeJudgeServer(fault=lambda prompt, attempt: "401") as server, \
            running_app(tmp_path, setup=_setup) as (url, store):
        admin = Client(url, auth=("root", "root-pw"), verbose=False)
        with pytest.raises(Exception, match="401") as refused:
            admin.predict("", "p", "rankings", server.base_url, "fake-judge", SECRET, "Live", api_name="/llm_run")
        jobs = store.jobs("judge")
        assert store.llm_rankings("p").empty
    assert list(jobs["status"]) == ["failed"] and "401" in jobs["message"][0]
    assert SECRET not in str(refused.value) + str(jobs.to_dict())
    assert _files_with(tmp_path, SECRET.encode()) == []
    out, err = capfd.readouterr()
    assert SECRET not in out + err
