"""A best-of-n job killed with ``kill -9`` mid-generation is recorded ``failed`` ("killed by the system (out of
memory?) at generate N/60") by the runner's reaper (had the app died with it, the next start-up would mark it
``interrupted``: see ``test_crash_safety``), and ``resume_job`` finishes it without sampling again the
instructions done before the kill."""

import json
import os
import re
import signal
import time

import pandas as pd
import pytest
from tiny_models import tiny_causal_lm, tiny_reward_model

from sparse_feedback.generate.run import sidecar_path
from sparse_feedback.report.inputs import evaluated_runs
from sparse_feedback.store import Store
from sparse_feedback.jobs import best_of_n as bon

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(240)]
INSTRUCTIONS = pd.DataFrame({"instruction": [f"Count the letters of word number {i}." for i in range(60)], "input": ""})


def sampled(directory) -> dict[int, list[str]]:
    """The generation log's lines by instruction index (every line, so a second sampling would show)."""
    lines = {}
    for line in sidecar_path(directory / "candidates.json").read_text("utf-8").splitlines():
        record = json.loads(line)
        if "index" in record:
            lines.setdefault(record["index"], []).append(line)
    return lines


@pytest.mark.slow
def test_a_killed_best_of_n_job_is_interrupted_and_resumes_without_sampling_again(tmp_path):
    policy = tiny_causal_lm(tmp_path / "policy")
    rm = tiny_reward_model(tmp_path / "rm", policy)
    settings = bon.BestOfNSettings(policy=str(policy), n=2, max_new_tokens=16, batch_size=1, reward_models=[str(rm)],
                                   judge_model=str(policy), judge_backend="transformers")  # a local, calibrated judge
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    job_id = bon.start_job(store, INSTRUCTIONS, settings, root=tmp_path / "jobs")
    directory, pid = bon.job_dir(store, job_id), store.job(job_id)["pid"]
    deadline = time.monotonic() + 120
    while not (sidecar_path(directory / "candidates.json").exists() and len(sampled(directory)) >= 3):
        assert time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0), \
            (directory / "log.txt").read_text()
        time.sleep(0.02)
    os.killpg(pid, signal.SIGKILL)  # the job dies with no chance to record anything (a crash, an OOM kill)
    while store.job(job_id)["status"] == "running":  # the reaper collects the process and records why it ended
        assert time.monotonic() < deadline
        time.sleep(0.05)
    before = sampled(directory)
    assert 3 <= len(before) < len(INSTRUCTIONS), "the job finished generating before it could be killed"
    job = store.job(job_id)
    assert job["status"] == "failed", job
    assert re.fullmatch(r"killed by the system \(out of memory\?\) at generate \d+/60", job["message"]), job["message"]

    restarted = Store(f"sqlite:///{tmp_path / 'store.db'}")  # what app.py does at start-up
    assert restarted.mark_interrupted() == 0  # a job recorded failed is left as it is
    started = time.monotonic()
    assert bon.resume_job(restarted, job_id) == f"job {job_id} resumed"
    assert restarted.job(job_id)["status"] == "running"
    status = bon.wait_job(restarted, job_id, timeout=180)
    print(f"killed after {len(before)} of {len(INSTRUCTIONS)}; resumed run {time.monotonic() - started:.1f} s")
    assert status["status"] == "done", (directory / "log.txt").read_text()[-3000:]

    after = sampled(directory)
    assert sorted(after) == list(range(len(INSTRUCTIONS)))
    assert all(len(lines) == 1 for lines in after.values()), "an instruction was sampled twice"
    assert {i: after[i] for i in before} == before  # the samples made before the kill are the ones kept
    candidates = json.loads((directory / "candidates.json").read_text())
    # generation goes by prompt length, so the instructions sampled before the kill need not be the first ones
    assert [candidates[i]["responses"] for i in before] == [json.loads(before[i][0])["responses"] for i in before]
    best = json.loads((directory / "best_of_n_1.json").read_text())
    winrates = json.loads((directory / "best_of_n_1.eval" / "winrates.json").read_text())
    assert len(best) == winrates["instructions"] == winrates["ratings"]["n"] == len(INSTRUCTIONS)
    assert evaluated_runs(tmp_path) == [f"jobs/job-{job_id}/best_of_n_1.eval"]
