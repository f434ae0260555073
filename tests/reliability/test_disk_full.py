"""A full (or read-only) disk under a job: a best-of-n job and a reward-model training run end ``failed`` with
a plain message, nothing half-written is taken for done, and running again once space is back finishes the
work without redoing what was complete. The full disk is an ``OSError(ENOSPC)`` raised at the write call."""

from __future__ import annotations

import errno
import json

import pandas as pd
import pytest
from reward_helpers import tiny_model_fixture, toy_rankings
from tiny_models import tiny_causal_lm, tiny_reward_model

import sparse_feedback.rerank.run as rerank_run
from sparse_feedback.reward.config import RewardConfig
from sparse_feedback.reward.runs import RESULTS_FILE
from sparse_feedback.reward.train import CHECKPOINTS, checkpoints, train
from sparse_feedback.store import Store
from sparse_feedback.jobs import best_of_n as bon

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(240)]
tiny = pytest.fixture(scope="module")(tiny_model_fixture)


def _full_disk_at(name: str, real):
    def write(obj, path, *args, **kwargs):
        if str(path).endswith(name):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(obj, path, *args, **kwargs)
    return write


def _best_of_n_job(tmp_path, monkeypatch, instructions: int):
    """A started best-of-n job (tiny policy and RM) on ``tmp_path/store.db`` whose process the test runs itself,
    in-process: the job row gets a pid that no process has. Returns (store, job id, job folder)."""
    policy = tiny_causal_lm(tmp_path / "policy")
    rm = tiny_reward_model(tmp_path / "rm", policy)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setattr(bon, "_spawn", lambda store, job_id, directory, key: store.attach_process(
        job_id, 2**22 + 12345, str(directory)))
    frame = pd.DataFrame({"instruction": [f"Name a colour, number {i}." for i in range(instructions)], "input": ""})
    settings = bon.BestOfNSettings(policy=str(policy), n=2, max_new_tokens=8, batch_size=2, reward_models=[str(rm)])
    job_id = bon.start_job(store, frame, settings, root=tmp_path / "jobs")
    return store, job_id, bon.job_dir(store, job_id)


@pytest.mark.slow
def test_a_best_of_n_job_on_a_full_disk_fails_plainly_and_resumes_once_space_is_back(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("SPARSE_FEEDBACK_DB", url)
    store, job_id, directory = _best_of_n_job(tmp_path, monkeypatch, 3)

    monkeypatch.setattr(rerank_run, "write_json", _full_disk_at("best_of_n_1.json", rerank_run.write_json))
    assert bon.main([str(directory), str(job_id)]) == 1
    job = store.job(job_id)
    assert job["status"] == "failed"
    assert job["message"].startswith("the disk is full (writing ") and "then Resume" in job["message"]
    assert not (directory / "best_of_n_1.json").exists() and not list(directory.glob(".*best_of_n_1*"))
    sampled = (directory / "candidates.json").stat().st_mtime_ns

    monkeypatch.undo()  # space is back
    monkeypatch.setenv("SPARSE_FEEDBACK_DB", url)
    assert store.reopen_job(job_id, bon.RESUMABLE)
    assert bon.main([str(directory), str(job_id)]) == 0
    assert store.job(job_id)["status"] == "done"
    assert (directory / "candidates.json").stat().st_mtime_ns == sampled  # the finished sampling was kept
    assert len(json.loads((directory / "best_of_n_1.json").read_text())) == 3
    store.close()


@pytest.mark.slow
def test_training_on_a_full_disk_keeps_the_last_checkpoint_and_resumes(tmp_path, tiny, monkeypatch):
    import safetensors.torch

    toy_rankings(16).to_csv(tmp_path / "rankings.csv", index=False)
    cfg = RewardConfig(protocol="rankings", train=str(tmp_path / "rankings.csv"), output_dir=str(tmp_path / "out"),
                       model=str(tiny), batch_size=4, lr=1e-2, epochs=2, eval_split=0.25, seed=0, save_steps=2)
    real, calls = safetensors.torch.save_file, []

    def save_file(state, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # the second checkpoint finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device", path)
        return real(state, path, *args, **kwargs)

    monkeypatch.setattr(safetensors.torch, "save_file", save_file)
    with pytest.raises(OSError, match="No space left"):
        train(cfg)
    out = tmp_path / "out"
    assert [c.name for c in checkpoints(out)] == ["step-0000002"]
    assert not list((out / CHECKPOINTS).glob("*.tmp"))  # the partial copy gave its space back
    assert not (out / RESULTS_FILE).exists()  # the model is not shown as trained
    monkeypatch.undo()
    resumed = train(RewardConfig(**{**cfg.to_dict(), "resume": True}))
    assert (out / RESULTS_FILE).exists() and resumed["step"] == 6


@pytest.mark.slow
def test_a_training_job_whose_log_says_the_disk_is_full_ends_with_that_sentence(tmp_path):
    import subprocess
    import sys

    from sparse_feedback.jobs import runner
    from sparse_feedback.jobs import training as jobs

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    out = tmp_path / "run"
    out.mkdir()
    (out / jobs.STDOUT_FILE).write_text("Traceback (most recent call last):\n  ...\n"
                                        "OSError: [Errno 28] No space left on device: 'run/adapter_model.safetensors'\n")
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    job_id = store.start_job(jobs.JOB_KIND, {}, pid=proc.pid)
    runner._finish_when_done(store, job_id, proc, jobs._outcome(out))
    job = store.job(job_id)
    assert job["status"] == "failed" and job["message"].startswith("the disk is full")
    store.close()


@pytest.mark.slow
def test_a_best_of_n_job_whose_store_turns_read_only_is_never_done_and_resumes(tmp_path, monkeypatch, capsys):
    path = tmp_path / "store.db"
    store, job_id, directory = _best_of_n_job(tmp_path, monkeypatch, 2)

    # The job's process sees the store read-only (as a full or remounted disk would make it).
    monkeypatch.setenv("SPARSE_FEEDBACK_DB", f"sqlite:///file:{path}?mode=ro&uri=true")
    assert bon.main([str(directory), str(job_id)]) == 1
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.startswith("error: the store is read-only, so job") and "Resume" in said and "SQL" not in said
    assert store.job(job_id)["status"] == "running"  # never recorded done
    (directory / "log.txt").write_text(said + "\n")
    status, message = ("failed", bon.exit_message(directory / "log.txt", 1))
    assert message.startswith("the store is read-only") and "could not be recorded as done" in message
    store.finish_job(job_id, status, message)  # what the app's reaper records when the process ends

    monkeypatch.setenv("SPARSE_FEEDBACK_DB", f"sqlite:///{path}")  # writable again
    sampled = (directory / "candidates.json").stat().st_mtime_ns
    assert store.reopen_job(job_id, bon.RESUMABLE)
    assert bon.main([str(directory), str(job_id)]) == 0
    assert store.job(job_id)["status"] == "done"
    assert (directory / "candidates.json").stat().st_mtime_ns == sampled  # nothing done twice
    store.close()


def test_a_job_process_that_ends_without_recording_is_failed_with_its_last_error(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("Traceback ...\nerror: the store is read-only, so job 3 could not be recorded as done\n")
    assert bon.exit_message(log, 1) == "the store is read-only, so job 3 could not be recorded as done"
    log.write_text("Killed\n")
    assert bon.exit_message(log, -9) == "killed by the system (out of memory?)"
    (tmp_path / "progress.json").write_text('{"stage": "generate", "done": 3, "total": 8}')
    log.write_text("Traceback ...\nRuntimeError: CUDA error: device-side assert\n")
    assert bon.exit_message(log, 1) == "exit status 1 at generate 3/8: RuntimeError: CUDA error: device-side assert"
