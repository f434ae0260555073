"""The job views tell the truth (fast: job rows and run folders written by hand, the tabs' handlers called
directly): why a process ended, Stop lit only while a job runs, the Log box's own step lines, Best-of-n on the
running job with nothing of another job below it."""

import json

import pytest

from sparse_feedback.jobs import imports as import_jobs
from sparse_feedback.jobs import runner, training
from sparse_feedback.store import Store
from sparse_feedback.ui.access import Access
from sparse_feedback.ui import training as views

CONSOLE = ("Loading weights: 100%|##########| 21/21 [00:00<00:00, 16040.86it/s]\n"
           "score.weight   | MISSING    |\n"
           "- MISSING:\tthose params were newly initialized because missing from the checkpoint.\n")


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'sf.db'}")
    yield s
    s.close()


def run_dir(tmp_path, steps: int, total: int = 40, console: str = CONSOLE):
    """A run's folder as the trainer leaves it after ``steps`` steps of ``total``."""
    out = tmp_path / "run"
    out.mkdir()
    (out / training.LOG_FILE).write_text("".join(json.dumps(
        {"step": s, "loss": 0.7 - s / 100, "elapsed_s": 2.0 * s, "examples_per_s": 4.0}) + "\n"
        for s in range(1, steps + 1)))
    (out / runner.PROGRESS_FILE).write_text(json.dumps({"stage": "train", "done": steps, "total": total}))
    (out / training.STDOUT_FILE).write_text(console)
    return out


def test_a_killed_training_process_is_recorded_as_killed_by_the_system_at_its_step(tmp_path):
    out = run_dir(tmp_path, 3)
    assert training._outcome(out)(-9) == ("failed", "killed by the system (out of memory?) at step 3/40")


def test_a_failed_training_process_gives_its_last_error_line_not_its_last_log_line(tmp_path):
    out = run_dir(tmp_path, 0, console="Traceback (most recent call last):\n  File x\n"
                  "ValueError: max_length must be at least 16\n" + CONSOLE)
    assert training._outcome(out)(1) == ("failed", "exit status 1 at step 0/40: ValueError: max_length must be at "
                                                   "least 16")
    (out / "eval_results.json").write_text("{}")
    assert training._outcome(out)(0) == ("done", "model saved")


def test_the_log_box_shows_the_runs_own_step_lines_and_how_it_ended(tmp_path):
    out = run_dir(tmp_path, 3)
    job = {"id": 1, "status": "running", "message": "", "args": {"output_dir": str(out), "protocol": "rankings"}}
    lines = views.log_box(job).splitlines()
    assert lines == ["step 1/40 · loss 0.6900 · 4.00 pairs/s · elapsed 0:02 · ETA 1:18",  # 2 s a step, 39 to go
                     "step 2/40 · loss 0.6800 · 4.00 pairs/s · elapsed 0:04 · ETA 1:16",
                     "step 3/40 · loss 0.6700 · 4.00 pairs/s · elapsed 0:06 · ETA 1:14"]
    assert "MISSING" not in views.log_box(job) and "it/s" not in views.log_box(job)
    failed = {**job, "status": "failed", "message": "killed by the system (out of memory?) at step 3/40"}
    assert views.log_box(failed).splitlines()[-1] == "failed: killed by the system (out of memory?) at step 3/40"
    stopped = {**job, "status": "stopped"}
    assert views.log_box(stopped).splitlines()[-1].startswith("stopped at step 3/40; Resume")
    (tmp_path / "x").mkdir()
    empty = run_dir(tmp_path / "x", 0)
    starting = {**job, "args": {"output_dir": str(empty), "protocol": "ratings"}}
    assert views.log_box(starting).startswith("started; loading the model and the data")


def test_the_train_tab_lights_stop_only_while_its_job_runs_and_names_the_device_once(store, tmp_path):
    from pages.train import show
    from sparse_feedback.device import describe

    out = run_dir(tmp_path, 2)
    job = store.start_job(training.JOB_KIND, {"output_dir": str(out), "protocol": "rankings"})
    access = Access(store, [])  # open local mode: the typed name is an admin
    status, _, _, device, stop, _ = show(store, access, "root", str(job), None)
    assert stop["interactive"] is True and "step 2/40" in status and device.count(describe()) == 1
    store.finish_job(job, "failed", "killed by the system (out of memory?) at step 2/40")
    status, _, tail, _, stop, _ = show(store, access, "root", str(job), None)
    assert stop["interactive"] is False and "killed by the system" in status and tail["value"].endswith("2/40")
    assert show(store, access, "root", None, None)[4]["interactive"] is False  # no job, nothing to stop


def test_best_of_n_opens_on_the_running_job_and_shows_no_results_of_another(store):
    from pages import best_of_n as page
    from sparse_feedback.ui import best_of_n as bon

    access = Access(store, [])
    finished = store.start_job(bon.JOB_KIND, {"policy": "p", "n": 2})
    store.finish_job(finished, "done", "3 instructions")
    running = store.start_job(bon.JOB_KIND, {"policy": "p", "n": 2})
    assert bon.job_to_show(store.jobs(bon.JOB_KIND)) == running
    picker, summary = page.browse(store, access, "root", running, False, None)
    assert picker["choices"] == [] and picker["value"] is None and f"Job #{running} is running" in summary
    line, stop, resume, _, seen = page.status(store, access, "root", running, None, None)
    assert line.startswith("running") and stop["interactive"] is True and resume["interactive"] is False
    store.finish_job(running, "stopped", "stopped from the app")
    line, stop, resume, listed, seen = page.status(store, access, "root", running, seen, None)
    assert stop["interactive"] is False and resume["interactive"] is True and seen == "stopped"
    assert (f"#{running} · stopped · p n=2", running) in listed["choices"]  # the picker's label follows the job


def test_stop_import_is_lit_only_while_an_import_runs(store):
    from pages.imports import stop_state

    access = Access(store, [])
    assert stop_state(store, access, "root", None)["interactive"] is False
    job = store.start_job(import_jobs.JOB_KIND, {"project": "x"})
    assert import_jobs.running(store) == [job] and stop_state(store, access, "root", None)["interactive"] is True
    store.finish_job(job, "stopped", "stopped by request; nothing was kept")
    assert stop_state(store, access, "root", None)["interactive"] is False


def test_a_job_view_says_where_a_long_batch_is_with_elapsed_time_and_an_eta(tmp_path):
    from sparse_feedback.progress import Progress

    write = runner.progress_writer(tmp_path, "generate", every=0)
    with Progress(8, "generate (policy)", write, disable=True) as bar:
        bar.partial(0.5, "next 4 instruction(s) x 8 sample(s): token 64/128")
        shown = runner.describe_status({"status": "running", **runner.read_progress(tmp_path)})
    assert shown.startswith("running · generate: 0/8 · next 4 instruction(s) x 8 sample(s): token 64/128 · elapsed ")
    assert "ETA" in shown
