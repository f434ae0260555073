"""The runner keeps stored queue orders fresh on its own: LLM labels stored by any path make the order stale and
the runner's watch recomputes it, repeated changes coalesce into one job, coverage follows human answers, and a
submit does no order work (SQLite and PostgreSQL)."""

import subprocess
import sys
import time

import pytest

from sparse_feedback import cli
from sparse_feedback.jobs import watch
from sparse_feedback.jobs.selection import JOB_KIND, run_selection, start_selection
from sparse_feedback.store import Store
from tests.appserver import ROOT, small_generation
from tests.databases import db_url  # noqa: F401  (fixture: one SQLite and one PostgreSQL database)
from tests.test_queue_strategies import llm_labels, planted_store, reward_model_dir  # noqa: F401  (fixture)


def equal_ratings_file(tmp_path):
    """A judge's rating file for the planted project: every response rated 4."""
    ratings, _ = llm_labels(small_generation(3, 3))
    path = tmp_path / "ratings.csv"
    ratings.assign(rating=4).to_csv(path, index=False)
    return path


def import_labels(path, url) -> None:
    assert cli.main(["import", str(path), "--project", "p", "--labels", "--source", "judge", "--db", url]) == 0


def reasons(store) -> str:
    return " ".join(store.queue_preview("p", "rankings", n=50)["reason"])


def order_jobs(store) -> int:
    return len(store.jobs(kind=JOB_KIND))


def wait_until(condition, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the runner did not get there in time"
        time.sleep(0.05)


def test_llm_labels_imported_through_the_cli_are_reordered_by_the_runner_with_no_further_step(
        db_url, tmp_path):  # noqa: F811
    store = planted_store(db_url, overlap=1, strategy="disagreement")
    runner_watch = watch.Watch(store, interval=0.05, in_place=True).start()
    try:
        wait_until(lambda: order_jobs(store) == 1)  # planted_store's own run; nothing is due
        assert "7 vs" in reasons(store)
        import_labels(equal_ratings_file(tmp_path), db_url)
        wait_until(lambda: store.queue_strategy("p")["stale"] is False)
        assert "LLM ratings 4 vs 4 imply equal" in reasons(store) and "7 vs" not in reasons(store)
        time.sleep(0.3)  # a few more looks: nothing is due any more
        assert order_jobs(store) == 2
    finally:
        runner_watch.stop()
        store.close()


def test_the_import_itself_does_no_order_work_it_leaves_the_order_stale(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = planted_store(url, overlap=1, strategy="disagreement")
    try:
        import_labels(equal_ratings_file(tmp_path), url)
        said = capsys.readouterr().out
        assert "p: 9 LLM labels stored as 'judge'; its queue order is recomputed by the runner" in said
        assert store.queue_strategy("p")["stale"] is True and "7 vs" in reasons(store) and order_jobs(store) == 1
        assert store.due_queue_orders(watch.COVERAGE_ANSWERS, watch.COVERAGE_AGE_S) == ["p"]
    finally:
        store.close()


def test_repeated_imports_coalesce_into_one_order_job(db_url, tmp_path):  # noqa: F811
    store = planted_store(db_url, overlap=1, strategy="disagreement")
    path = equal_ratings_file(tmp_path)
    try:
        for _ in range(3):
            import_labels(path, db_url)
        assert len(watch.sweep(store, in_place=True)) == 1 and watch.sweep(store, in_place=True) == []
        # while a computation runs, further imports start none; after it, one more reads them
        running = store.start_job_unless_running(JOB_KIND, {"project": "p"})
        assert store.start_job_unless_running(JOB_KIND, {"project": "p"}) is None
        import_labels(path, db_url)
        import_labels(path, db_url)
        assert watch.sweep(store, in_place=True) == []
        store.finish_job(running, "done", "")
        assert len(watch.sweep(store, in_place=True)) == 1 and watch.sweep(store, in_place=True) == []
        # a look that found it due just before a job finished claims nothing: due-ness is asked again with the claim
        assert start_selection(store, "p") is None
        assert order_jobs(store) == 1 + 1 + 1 + 1  # planted, the first three imports, the job above, the last two
    finally:
        store.close()


def test_a_running_order_job_whose_process_is_gone_does_not_block_the_next(db_url):  # noqa: F811
    store = planted_store(db_url, overlap=1, strategy="disagreement")
    try:
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        orphan = store.start_job_unless_running(JOB_KIND, {"project": "p"})
        store.attach_process(orphan, gone.pid)
        assert store.start_job_unless_running(JOB_KIND, {"project": "p"}) not in (None, orphan)
        assert store.job(orphan)["status"] == "interrupted"
    finally:
        store.close()


def test_labels_computed_into_a_running_order_leave_it_stale_for_the_runner(tmp_path):
    store = planted_store(f"sqlite:///{tmp_path / 's.db'}", overlap=1, strategy="disagreement")
    try:
        from sparse_feedback.jobs import selection

        real = selection.compute_order

        def labels_arrive_meanwhile(store_, project, progress=None):
            out = real(store_, project, progress)  # inputs read; then new labels are stored before the write
            ratings, _ = llm_labels(small_generation(3, 3))
            store_.import_llm_ratings(project, ratings.assign(rating=4), "judge")
            return out

        selection.compute_order = labels_arrive_meanwhile
        try:
            store.mark_queue_stale("p")
            run_selection(store, "p")
        finally:
            selection.compute_order = real
        assert store.queue_strategy("p")["stale"] is True and "7 vs" in reasons(store)
        assert len(watch.sweep(store, in_place=True)) == 1 and "7 vs" not in reasons(store)
    finally:
        store.close()


def answer_item(store, item: int, annotator: str = "ann") -> int:
    """Human answers to every rating task of one instruction; returns how many."""
    tasks = store.selection_inputs("p")["rating_tasks"]
    ids = tasks[tasks["item"] == item]["task_id"].tolist()
    for tid in ids:
        task = store.next_task("p", annotator, "ratings", choose=lambda *_, t=tid: t)
        store.submit(annotator, task.assignment_id, 4)
    return len(ids)


def test_coverage_moves_other_instructions_ahead_once_the_runner_has_refreshed(db_url):  # noqa: F811
    store = planted_store(db_url, overlap=1, strategy="coverage")
    try:
        first = int(store.selection_inputs("p")["items"]["item"].iloc[0])
        instruction = store.selection_inputs("p")["items"].set_index("item").loc[first, "instruction"][:80]
        assert answer_item(store, first) == 3
        # the submits did not touch the order: the answered instruction still has a pair among the first three
        before = store.queue_preview("p", "rankings", n=50)
        assert instruction in before["instruction"].head(3).tolist()
        assert store.due_queue_orders(answers=1, age_s=3600) == []  # too soon: at most one every age_s
        assert store.due_queue_orders(answers=4, age_s=0) == []  # 3 answers: below this threshold
        assert store.due_queue_orders(answers=3, age_s=0) == ["p"]
        assert len(watch.sweep(store, answers=3, age_s=0, in_place=True)) == 1
        after = store.queue_preview("p", "rankings", n=50)
        assert instruction not in after["instruction"].head(6).tolist()
        assert after["instruction"].tail(3).tolist() == [instruction] * 3
        assert set(after["reason"].tail(3).str.slice(0, 37)) == {"its instruction has 3 human answer(s)"}
        assert watch.sweep(store, answers=1, age_s=0, in_place=True) == []  # no answer since
    finally:
        store.close()


def test_a_submit_does_no_order_work(tmp_path, monkeypatch):
    from sparse_feedback.jobs import selection
    from sparse_feedback.study import assignment
    from sparse_feedback.study import selection as study_selection

    store = planted_store(f"sqlite:///{tmp_path / 's.db'}", overlap=2, strategy="coverage")

    def forbidden(*_, **__):
        raise AssertionError("order work on the submit path")

    for owner, name in ((selection, "compute_order"), (selection, "compute_and_store"), (selection, "start_selection"),
                        (study_selection, "strategy_order"), (Store, "selection_inputs"), (Store, "write_queue_order"),
                        (Store, "due_queue_orders"), (Store, "mark_queue_stale")):
        monkeypatch.setattr(owner, name, forbidden)
    try:
        served = 0
        for who in ("ann1", "ann2"):
            task = assignment.next_task(store, "p", who, "rankings")
            while task is not None:
                _, task = store.submit_and_next("p", who, "rankings", task.assignment_id, "left")
                served += 1
            task = store.next_task("p", who, "ratings")
            store.submit(who, task.assignment_id, 5)
        assert served == 2 * 9
    finally:
        store.close()


@pytest.mark.slow
def test_the_runner_process_reorders_after_a_cli_import_with_no_further_step(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = planted_store(url, overlap=1, strategy="disagreement")
    env = {**__import__("os").environ, "SPARSE_FEEDBACK_HOME": str(tmp_path / "home")}
    runner = subprocess.Popen([sys.executable, "-m", "sparse_feedback", "runner", "--interval", "0.5", "--db", url],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        done = subprocess.run([sys.executable, "-m", "sparse_feedback", "import", str(equal_ratings_file(tmp_path)),
                               "--project", "p", "--labels", "--source", "judge", "--db", url], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        wait_until(lambda: "LLM ratings 4 vs 4 imply equal" in reasons(store), timeout=120)
        jobs = store.jobs(kind=JOB_KIND)
        assert len(jobs) == 2 and jobs["status"].iloc[0] in ("running", "done")  # its process may be finishing
        assert runner.poll() is None  # still watching
    finally:
        runner.terminate()
        out, _ = runner.communicate(timeout=30)
        store.close()
    assert "started queue order job(s) [2]" in out


@pytest.mark.slow
def test_the_app_runs_the_watch_so_labels_stored_while_it_runs_are_reordered(tmp_path):
    from tests.appserver import running_app

    def setup(store):
        planted_store(store.url, overlap=1, strategy="disagreement").close()

    with running_app(tmp_path, setup=setup, watch=True) as (_url, store):
        ratings, _ = llm_labels(small_generation(3, 3))
        store.import_llm_ratings("p", ratings.assign(rating=4), "judge")  # as the LLM tab's judge run stores them
        wait_until(lambda: store.queue_strategy("p")["stale"] is False, timeout=120)
        assert "LLM ratings 4 vs 4 imply equal" in reasons(store) and order_jobs(store) == 2


@pytest.mark.slow
def test_a_reward_model_saved_again_outside_the_app_makes_the_runner_recompute_its_uncertainty_order(
        tmp_path, reward_model_dir):
    import os
    import shutil

    from sparse_feedback.reward.runs import RESULTS_FILE

    rm = tmp_path / "rm"
    shutil.copytree(reward_model_dir, rm)
    (rm / RESULTS_FILE).write_text("{}")
    os.utime(rm / RESULTS_FILE, (time.time() - 3600, time.time() - 3600))  # saved before the order was computed
    store = planted_store(f"sqlite:///{tmp_path / 's.db'}", overlap=1, strategy="uncertainty", reward_model=str(rm))
    try:
        computed = store.queue_strategy("p")["computed_at"]
        assert watch.sweep(store, in_place=True) == []  # the order is newer than the model
        (rm / RESULTS_FILE).write_text("{}")  # what a `train` run writes when it saves the model again
        assert len(watch.sweep(store, in_place=True)) == 1
        assert store.queue_strategy("p")["computed_at"] > computed and store.queue_strategy("p")["stale"] is False
        assert watch.sweep(store, in_place=True) == []  # once
    finally:
        store.close()
