"""``backup --output FILE`` copies the store while annotators write; the copy opens as a store with the
counts of one consistent moment (at least those before the backup began)."""

from __future__ import annotations

import sqlite3
import threading
import time

import pandas as pd
import pytest

from sparse_feedback.store import Store
from sparse_feedback.store.backup import counts
from tests.databases import db_url  # noqa: F401  (fixture: one SQLite and one PostgreSQL database)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120)]


def _generation(n_items: int) -> pd.DataFrame:
    return pd.DataFrame([(f"Backup instruction {i} " + "padding " * 200, "", [f"Response {j} of {i}" for j in range(4)])
                         for i in range(n_items)], columns=["instruction", "input", "responses"], dtype=object)


def _annotations(store) -> int:
    with store.db.read() as conn:
        return conn.exec_driver_sql("SELECT COUNT(*) FROM annotations").scalar_one()


@pytest.mark.slow
def test_backup_while_annotators_write_is_a_consistent_copy(cli, tmp_path, db_url):  # noqa: F811
    """SQLite is copied with its backup API, PostgreSQL logically from one snapshot; both into one SQLite file."""
    home = tmp_path / "home"
    home.mkdir()
    if db_url.startswith("sqlite"):  # the default store under the data home
        db_url = f"sqlite:///{home / 'sparse_feedback.db'}"
    store = Store(db_url)
    store.create_project_from_generation(_generation(600), "b", overlap=4)  # 2,400 rating tasks, ~5 MB
    stop, written = threading.Event(), []

    def annotate(who: str):
        while not stop.is_set():
            task = store.next_task("b", who, "ratings")
            if task is None:
                return
            store.submit(who, task.assignment_id, 5, submit_id=task.submit_id)
            written.append(who)

    team = [threading.Thread(target=annotate, args=(f"w{i}",)) for i in range(4)]
    for t in team:
        t.start()
    while len(written) < 50:
        time.sleep(0.01)
    before, started = _annotations(store), len(written)
    env = {"SPARSE_FEEDBACK_HOME": str(home)} | ({} if db_url.startswith("sqlite") else {"SPARSE_FEEDBACK_DB": db_url})
    run = cli("backup", "--output", tmp_path / "copies" / "store.db", env=env)
    during = len(written)
    stop.set()
    for t in team:
        t.join()
    after = _annotations(store)
    store.close()

    assert run.returncode == 0, run.stderr
    assert during > started  # annotators kept writing while the backup ran
    copy = tmp_path / "copies" / "store.db"
    restored = Store(f"sqlite:///{copy}")  # restoring = opening the copy as a store
    n = len(restored.human_ratings("b"))
    assert before <= n <= after
    assert f"{n} annotations" in run.stdout
    assert restored.project("b").n_rating_tasks == 2400
    with restored.db.read() as conn:  # one moment: every stored answer has its assignment marked done
        torn = conn.exec_driver_sql("SELECT COUNT(*) FROM annotations a JOIN assignments s ON s.id = a.assignment_id "
                                    "WHERE s.status != 'done'").scalar_one()
    restored.close()
    assert torn == 0
    with sqlite3.connect(copy) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok" and counts(c)["annotations"] == n
    assert not list(copy.parent.glob(".*partial"))


@pytest.mark.slow
def test_backup_of_a_missing_store_is_a_one_line_error(cli, tmp_path):
    run = cli("backup", "--output", tmp_path / "x.db", "--db", f"sqlite:///{tmp_path / 'nope.db'}")
    assert run.returncode == 2 and run.stderr.startswith("error:") and "Traceback" not in run.stderr
    assert not (tmp_path / "x.db").exists()
