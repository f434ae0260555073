"""The annotation store on its own: schema versions, assignment, un-randomised rankings, imports, exports, jobs."""

import os
import threading

import pandas as pd
import pytest

from sparse_feedback import formats
from sparse_feedback.store import SCHEMA_VERSION, Store, StoreError
from sparse_feedback.store.demo import load_demo
from tests.appserver import ROOT, small_generation
from tests.databases import db_url, store_with_project  # noqa: F401  (fixture: one SQLite and one PostgreSQL database)


@pytest.fixture
def store(db_url):  # noqa: F811
    s = store_with_project(db_url, overlap=1)
    yield s
    s.close()


def test_schema_is_versioned_and_reopening_applies_nothing(db_url):  # noqa: F811
    Store(db_url).close()
    s = Store(db_url)
    with s.db.read() as conn:
        versions = [r[0] for r in conn.exec_driver_sql("SELECT version FROM schema_version ORDER BY version")]
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar() if s.db.is_sqlite else "wal"
    s.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1)) and mode == "wal"


def test_project_has_a_rating_task_per_response_and_a_pair_task_per_pair(store):
    p = store.project("p")
    assert (p.n_items, p.n_rating_tasks, p.n_pair_tasks) == (2, 6, 6)
    with pytest.raises(StoreError, match="already exists"):
        store.create_project_from_generation(small_generation(1, 2), "p")


def test_rankings_are_stored_in_unrandomised_terms(store):
    seen = {}
    for who in ("a", "b", "c", "d", "e", "f", "g", "h"):
        store.set_overlap("p", 8)
        t = store.next_task("p", who, "rankings")
        seen[t.swapped] = True
        store.submit(who, t.assignment_id, "left")  # always the response shown on the left
        row = store.human_rankings("p", who).iloc[0]
        assert row["output1"] == (t.right if t.swapped else t.left)
        assert row["feedback"] == ("(b)" if t.swapped else "(a)") and row["shown_order"] == ("ba" if t.swapped else "ab")
    assert len(seen) == 2, "left/right order is randomised"


def test_never_the_same_task_twice_and_queue_ends(store):
    got = []
    while (t := store.next_task("p", "solo", "ratings")) is not None:
        got.append(t.task_id)
        store.submit("solo", t.assignment_id, 4)
    assert sorted(got) == list(range(1, 7)) and store.progress("p", "solo", "ratings").assigned == 6


def test_submit_checks_owner_value_and_state(store):
    t = store.next_task("p", "x", "ratings")
    with pytest.raises(PermissionError):
        store.submit("y", t.assignment_id, 3)
    with pytest.raises(StoreError, match="1 to 7"):
        store.submit("x", t.assignment_id, 8)
    store.submit("x", t.assignment_id, 3)
    with pytest.raises(StoreError, match="already answered"):
        store.submit("x", t.assignment_id, 2, submit_id="other")


def test_llm_feedback_in_both_orders_round_trips(store):
    ranks = formats.ranking_tasks(store.items_frame("p")).rename(columns={"response1": "output1", "response2": "output2"})
    both = pd.concat([ranks.assign(feedback="(a)"),
                      ranks.rename(columns={"output1": "output2", "output2": "output1"}).assign(feedback="(b)")])
    assert store.import_llm_rankings("p", both, "m") == 12
    assert store.import_llm_rankings("p", both, "m") == 12  # a rerun replaces
    raw = store.llm_ranking_orders("p")
    assert len(raw) == 12 and raw["reversed"].sum() == 6
    assert set(store.llm_feedback_for("rankings", 1)[i]["value"] for i in range(2)) == {"(a)"}  # consistent judge
    out = store.llm_rankings("p")
    assert len(out) == 6 and set(out["feedback"]) == {"(a)"} and set(out["orders"]) == {"agree"}
    pairs = store.rm_pairs("p", "llm")
    assert list(pairs.columns) == ["prompt", "chosen", "rejected"] and len(pairs) == 6


def test_exported_feedback_is_readable_by_the_foundation(store, tmp_path):
    t = store.next_task("p", "x", "ratings")
    store.submit("x", t.assignment_id, 7)
    for fmt in ("csv", "seed", "hf"):
        path = formats.write_table(store.feedback("p", "ratings", "human"), tmp_path / f"out_{fmt}", fmt)
        back = formats.read_rating_feedback(path)
        assert back["rating"].tolist() == [7] and back["output"].tolist() == [t.response]


def test_fifty_concurrent_writers_never_see_database_locked(store):
    store.set_overlap("p", 50)
    errors, done = [], []

    def annotate(who):
        try:
            for _ in range(6):
                t = store.next_task("p", who, "ratings")
                done.append(store.submit(who, t.assignment_id, 5))
        except Exception as err:  # pragma: no cover - the assertion shows it
            errors.append(repr(err))

    threads = [threading.Thread(target=annotate, args=(f"w{i}",)) for i in range(50)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == [] and len(store.human_ratings("p")) == len(done) == 300


def test_concurrent_annotators_never_exceed_the_overlap(store):
    """Two annotators asking at once must not both take a task's last free slot (on any backend)."""
    store.set_overlap("p", 1)
    got, errors = [], []

    def annotate(who):
        try:
            while (t := store.next_task("p", who, "ratings")) is not None:
                got.append(t.task_id)
                store.submit(who, t.assignment_id, 3)
        except Exception as err:  # pragma: no cover - the assertion shows it
            errors.append(repr(err))

    threads = [threading.Thread(target=annotate, args=(f"c{i}",)) for i in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == [] and sorted(got) == list(range(1, 7))


def test_client_chosen_fields_are_bounded_before_any_work(store):
    t = store.next_task("p", "x", "ratings")
    for bad in ("s" * 101, "s\x00", "s" * 20_000_000):
        with pytest.raises(StoreError, match="submit id"):
            store.submit("x", t.assignment_id, 3, submit_id=bad)
    for name, says in (("n" * 100_000, "too long"), ("a\x00b", "control characters"), (["p"], "must be text")):
        with pytest.raises(StoreError, match=says):
            store.create_project_from_generation(small_generation(1, 2), name)
        with pytest.raises(StoreError, match=says):
            store.next_task(name, "x", "ratings")
        with pytest.raises(StoreError, match=says):
            store.next_task("p", name, "ratings")
    with pytest.raises(StoreError, match="guideline"):
        store.set_guideline("p", "g" * 100_001)
    assert store.human_ratings("p").empty and [p.name for p in store.projects()] == ["p"]


def test_a_large_import_is_written_in_short_chunks_that_annotators_answer_between(store):
    """Between two chunks another annotator's answer commits at once (in another thread), and the half-imported
    project is offered to no one."""
    seen = []

    def between_chunks(done, total, desc):
        answered = []
        t = threading.Thread(target=lambda: answered.append(
            store.submit(f"w{done}", store.next_task("p", f"w{done}", "ratings").assignment_id, 4)))
        t.start()
        t.join(10)
        seen.append((done, total, bool(answered), [p.name for p in store.projects()]))

    store.create_project_from_generation(small_generation(25, 3), "big", chunk=10, callback=between_chunks)
    assert [(d, t, ok) for d, t, ok, _ in seen] == [(10, 25, True), (20, 25, True), (25, 25, True)]
    assert all(names == ["p"] for *_, names in seen)
    assert store.project("big").n_rating_tasks == 75 and store.project("big").n_pair_tasks == 75


def test_an_import_cut_off_leaves_nothing_behind(store):
    def fail_after_first_chunk(done, total, desc):
        raise RuntimeError("disk I/O error")

    with pytest.raises(RuntimeError):
        store.create_project_from_generation(small_generation(25, 3), "big", chunk=10, callback=fail_after_first_chunk)
    with store.db.read() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM items").scalar_one() == 2  # only project p's
    assert [p.name for p in store.projects()] == ["p"]
    store.create_project_from_generation(small_generation(25, 3), "big", chunk=10)  # the name is free again


def test_jobs_keep_no_secrets_and_dead_runs_become_interrupted(store):
    job = store.start_job("judge", {"model": "m", "api_key": "sk-secret"}, pid=2**22 + 12345)
    assert "api_key" not in store.job(job)["args"]
    assert store.mark_interrupted() == 1 and store.job(job)["status"] == "interrupted"


def test_demo_project_loads_with_llm_feedback(db_url):  # noqa: F811
    s = Store(db_url)
    counts = load_demo(s, ROOT / "assets" / "demo")
    assert counts["items"] >= 3 and counts["llm_ratings"] == 5 * counts["items"]
    assert counts["llm_rankings"] == 20 * counts["items"]  # 10 pairs x both orders, each stored with its answer
    task = s.next_task("demo", "x", "rankings")
    judged = s.llm_feedback_for("rankings", task.task_id)
    assert sorted(j["reversed"] for j in judged) == [False, True] and all(j["raw_answers"] for j in judged)


def test_queue_counts_follow_assign_submit_skip_and_undo(store):
    """Each task's ``active`` equals its open or done assignments, whatever the annotators do."""
    for who in ("a", "b", "c"):
        t = store.next_task("p", who, "ratings")
        store.submit(who, t.assignment_id, 4)
        store.skip(who, store.next_task("p", who, "ratings").assignment_id)
        store.next_task("p", who, "rankings")
    store.undo_last("p", "a", "ratings")
    with store.db.read() as conn:
        for table, protocol in (("rating_tasks", "ratings"), ("pair_tasks", "rankings")):
            rows = conn.exec_driver_sql(
                f"SELECT t.active, (SELECT COUNT(*) FROM assignments a WHERE a.protocol = '{protocol}' AND "
                f"a.task_id = t.id AND a.status IN ('open', 'done')) FROM {table} t").all()
            assert all(active == real for active, real in rows) and sum(a for a, _ in rows) > 0
        never_had = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM rating_tasks t WHERE t.active < 1 AND NOT EXISTS (SELECT 1 FROM assignments x "
            "WHERE x.protocol = 'ratings' AND x.task_id = t.id AND x.annotator = 'a')").scalar_one()
    assert store.progress("p", "a", "ratings").available == never_had == 3


def test_a_job_under_our_own_pid_from_before_this_process_started_is_interrupted(store):
    """A restarted container often gives the app the same pid: a job left running under it is stale."""
    import os
    from datetime import timedelta

    from sparse_feedback.store.jobs import _PROCESS_STARTED
    from sparse_feedback.store.schema import jobs

    stale, current = store.start_job("judge", pid=os.getpid()), store.start_job("judge", pid=os.getpid())
    with store.db.write() as conn:
        conn.execute(jobs.update().where(jobs.c.id == stale).values(created_at=_PROCESS_STARTED - timedelta(hours=1)))
    assert store.mark_interrupted() == 1
    assert store.job(stale)["status"] == "interrupted" and store.job(current)["status"] == "running"


def test_only_an_ended_job_whose_process_is_gone_is_reopened_and_only_once(store):
    import os

    dead, alive = 2**22 + 12345, os.getppid()
    ended = store.start_job("best_of_n", pid=dead)
    store.finish_job(ended, "stopped")
    still_ending = store.start_job("best_of_n", pid=alive)
    store.finish_job(still_ending, "stopped")
    done = store.start_job("best_of_n", pid=dead)
    store.finish_job(done, "done")
    resumable = ("interrupted", "stopped", "failed")
    assert store.reopen_job(ended, resumable) and not store.reopen_job(ended, resumable)
    assert store.job(ended)["status"] == "running" and store.job(ended)["finished_at"] is None
    assert not store.reopen_job(still_ending, resumable) and not store.reopen_job(done, resumable)
    store.attach_process(ended, dead, "/jobs/job-1")
    assert store.job(ended)["pid"] == dead and store.job(ended)["log_path"] == "/jobs/job-1"


def test_the_reaper_of_a_stopped_run_never_ends_the_resumed_run_that_replaced_it(store):
    import subprocess
    import sys

    from sparse_feedback.jobs import runner

    old = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    job_id = store.start_job("best_of_n", pid=old.pid)
    old.wait()
    store.finish_job(job_id, "stopped", "stopped by admin")
    assert store.reopen_job(job_id, runner.RESUMABLE)  # resumed: a new process does the job now
    store.attach_process(job_id, os.getpid())
    runner._finish_when_done(store, job_id, old, lambda code: ("failed", f"exit code {code}"))
    assert store.job(job_id)["status"] == "running" and store.job(job_id)["message"] is None
    store.finish_job(job_id, "failed", "late write", if_running=True, pid=old.pid)
    assert store.job(job_id)["status"] == "running"
    store.finish_job(job_id, "failed", "exit code 1", if_running=True, pid=os.getpid())
    assert store.job(job_id)["status"] == "failed"
