"""Training from the app: a background job in the store's jobs table, live log, Stop keeps a checkpoint."""

import os
import time

import pytest
from reward_helpers import tiny_model_fixture

from sparse_feedback import formats
from sparse_feedback.jobs import training
from sparse_feedback.reward.train import checkpoints
from sparse_feedback.store import Store, StoreError
from tests.appserver import small_generation

tiny = pytest.fixture(scope="module")(tiny_model_fixture)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))
    s = Store(f"sqlite:///{tmp_path / 'sf.db'}")
    s.create_project_from_generation(small_generation(4, 3), "p", overlap=1)
    tasks = formats.ranking_tasks(s.items_frame("p")).rename(columns={"response1": "output1", "response2": "output2"})
    tasks["feedback"] = ["(a)", "(b)"] * (len(tasks) // 2)
    s.import_llm_rankings("p", tasks, "judge-model")
    yield s
    s.close()


def wait_for(condition, timeout=240.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_the_curve_plots_loss_and_eval_metrics():
    from pages.train import curve

    fig = curve([{"step": 1, "loss": 0.7}, {"step": 2, "loss": 0.5}, {"step": 2, "eval_accuracy": 0.75}])
    assert [t.name for t in fig.data] == ["train loss", "accuracy"] and list(fig.data[0].y) == [0.7, 0.5]


def test_training_needs_feedback_from_the_chosen_source(store):
    with pytest.raises(StoreError, match="no human rankings"):
        training.start_project_training(store, "p", "human", "rankings")


@pytest.mark.slow
def test_a_job_runs_in_the_background_stops_with_a_checkpoint_and_resumes_to_a_listed_model(store, tiny):
    from pages.train import job_view

    job_id, out = training.start_project_training(store, "p", "llm", "rankings", model=str(tiny), max_steps=300,
                                                  batch_size=1, save_steps=1, lr=1e-3, eval_split=0.25)
    assert store.job(job_id)["status"] == "running" and store.job(job_id)["pid"] != os.getpid()
    wait_for(lambda: training.read_log(out))  # the live loss curve has a point
    assert "stopping" in training.stop_training(store, job_id).lower()
    pid = store.job(job_id)["pid"]
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z")
    assert store.job(job_id)["status"] == "stopped"
    kept = checkpoints(out)
    assert kept and 0 < int(kept[-1].name.split("-")[1]) < 300
    status, fig, tail = job_view(store, job_id)
    assert "stopped" in status and len(fig.data[0].x) >= 1 and "stopped at step" in tail

    again, _ = training.start_training(store, "rankings", out / "rankings_feedback.csv", str(tiny), out,
                                       max_steps=300, batch_size=1, save_steps=100, lr=1e-3, eval_split=0.25,
                                       resume=True)
    wait_for(lambda: store.job(again)["status"] != "running")
    assert store.job(again)["status"] == "done", store.job(again)["message"]
    steps = [r["step"] for r in training.read_log(out) if "loss" in r]
    assert steps == list(range(1, 301))  # continued, not restarted
    listed = training.trained_models()
    assert listed["model_dir"].tolist() == [str(out)] and listed["protocol"].tolist() == ["rankings"]


@pytest.mark.slow
def test_the_trained_models_table_says_plainly_why_a_demo_rm_is_below_chance():
    from tests.appserver import ROOT

    table = training.trained_models(ROOT / "assets" / "demo" / "best_of_n").set_index("protocol")
    rankings = table.loc["rankings"]
    assert rankings["accuracy"] < 0.5 and rankings["held_out_pairs"] == 9
    low, high = (float(x) for x in rankings["accuracy_95ci"].split("–"))
    assert low < 0.5 < high
    assert rankings["note"] == "not distinguishable from chance (0.5): 9 held-out pairs after 96 steps"


@pytest.mark.slow
def test_a_training_job_killed_by_the_system_is_recorded_as_killed_at_its_step(store, tiny):
    """SIGKILL (what the kernel's out-of-memory killer sends): the job row and the Train tab say "killed by the
    system (out of memory?) at step N/T", not the console's last line."""
    import re
    import signal

    from pages.train import job_view

    job_id, out = training.start_project_training(store, "p", "llm", "rankings", model=str(tiny), max_steps=300,
                                                  batch_size=1, lr=1e-3, eval_split=0.25)
    wait_for(lambda: len([r for r in training.read_log(out) if "loss" in r]) >= 2)
    os.kill(store.job(job_id)["pid"], signal.SIGKILL)
    wait_for(lambda: store.job(job_id)["status"] != "running", timeout=30)
    job = store.job(job_id)
    found = re.fullmatch(r"killed by the system \(out of memory\?\) at step (\d+)/300", job["message"])
    assert job["status"] == "failed" and found, job["message"]
    logged = max(r["step"] for r in training.read_log(out) if "loss" in r)
    assert logged <= int(found.group(1)) <= logged + 1  # the step it was on: the last logged (or the one after)
    status, _, log_box = job_view(store, job_id)
    assert "killed by the system (out of memory?) at step" in status
    assert log_box.splitlines()[-1] == f"failed: {job['message']}" and re.match(r"step \d+/300 · loss ", log_box)
