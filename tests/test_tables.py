"""The Admin tab's jobs table reads as text: arguments as a line, never an object the browser prints as
``[object Object]``, reward models named by their folder, not their path."""

from pathlib import Path

from sparse_feedback.store import Store
from sparse_feedback.ui.best_of_n_demo import ensure_best_of_n_demo
from sparse_feedback.ui.tables import jobs_table

ROOT = Path(__file__).resolve().parents[1]


def test_the_jobs_table_shows_arguments_as_readable_text(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ensure_best_of_n_demo(store, ROOT / "assets" / "demo" / "best_of_n")
    table = jobs_table(store.jobs())
    assert list(table.columns) == ["Job", "Kind", "Status", "Settings", "Started", "Message"]
    settings = table.loc[0, "Settings"]
    assert isinstance(settings, str) and "reward models demo-ratings-rm, demo-rankings-rm" in settings
    assert "/" not in settings and "None" not in settings
    store.close()
