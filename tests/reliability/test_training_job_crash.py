"""A training job killed with ``kill -9`` shows as interrupted at the next start-up, and ``--resume``
continues from its last checkpoint with the step count it had."""

import json
import os
import signal
import subprocess
import time

import pytest
from reward_helpers import log_losses, tiny_model_fixture, toy_rankings

from sparse_feedback.jobs import training
from sparse_feedback.reward.train import checkpoints
from sparse_feedback.store import Store

pytestmark = pytest.mark.reliability
tiny = pytest.fixture(scope="module")(tiny_model_fixture)
OPTIONS = dict(batch_size=4, lr=1e-2, epochs=6, save_steps=2, eval_split=0.25, seed=0)


@pytest.mark.slow
def test_a_killed_training_job_is_interrupted_and_resumes_from_its_last_checkpoint(tmp_path, tiny, cli):
    toy_rankings(32).to_csv(tmp_path / "rankings.csv", index=False)
    straight = cli(*training.training_command("rankings", tmp_path / "rankings.csv", tmp_path / "straight",
                                              str(tiny), **OPTIONS)[3:])
    assert straight.returncode == 0, straight.stderr[-2000:]
    total_steps = max(log_losses(tmp_path / "straight"))

    out = tmp_path / "killed"
    cmd = training.training_command("rankings", tmp_path / "rankings.csv", out, str(tiny), **OPTIONS)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    job = store.start_job(training.JOB_KIND, {"output_dir": str(out)}, pid=proc.pid)
    deadline = time.monotonic() + 180
    while not checkpoints(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # the app and its job die together (a crash, a restarted container)
    proc.wait()
    kept = checkpoints(out)
    assert kept, "the job was killed before its first checkpoint"
    assert int(json.loads((kept[-1] / "state.json").read_text())["step"]) < total_steps

    restarted = Store(f"sqlite:///{tmp_path / 'store.db'}")  # what app.py does at start-up
    assert restarted.mark_interrupted() == 1 and restarted.job(job)["status"] == "interrupted"

    resumed = cli(*cmd[3:], "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    losses = log_losses(out)
    assert max(losses) == total_steps and (out / "eval_results.json").exists()
    assert losses[total_steps] == pytest.approx(log_losses(tmp_path / "straight")[total_steps], rel=1e-4)
