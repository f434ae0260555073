"""Comments, flags and edits of answers in the store: bounded like every client field, exported with the answer;
an edit is a new version, the old one kept for the audit trail; exports and aggregation use the latest."""

import pytest
from sqlalchemy import create_engine

from sparse_feedback.store import SCHEMA_VERSION, Store, StoreError
from sparse_feedback.store.limits import COMMENT_MAX
from tests.appserver import small_generation
from tests.databases import db_url, store_with_project  # noqa: F401  (fixture: one SQLite and one PostgreSQL database)


@pytest.fixture
def store(db_url):  # noqa: F811
    s = store_with_project(db_url, overlap=2)
    yield s
    s.close()


def _rate(store, who, value, project="p", **note):
    task = store.next_task(project, who, "ratings")
    return store.submit(who, task.assignment_id, value, submit_id=task.submit_id, **note)


def test_a_comment_and_flags_are_stored_with_the_answer_and_exported(store):
    _rate(store, "ann", 5, comment="  the response cites a made-up law\nsecond line ", flags=["harmful", "unclear"])
    _rate(store, "ann", 3)
    row = store.human_ratings("p", "ann").iloc[0]
    assert (row["comment"], row["flags"], row["version"]) == ("the response cites a made-up law\nsecond line",
                                                              "unclear,harmful", 1)
    exported = store.feedback("p", "ratings", "human")
    assert list(exported.columns) == ["instruction", "input", "output", "rating", "annotator", "comment", "flags"]
    assert exported["flags"].tolist() == ["unclear,harmful", ""]


def test_comments_and_flags_are_bounded_and_refused_whole(store):
    task = store.next_task("p", "ann", "ratings")
    for note, match in (({"comment": "x" * (COMMENT_MAX + 1)}, "too long"), ({"comment": "a\x00b"}, "control"),
                        ({"flags": ["unclear", "spam"]}, "unknown flag 'spam'"), ({"flags": 7}, "list of names"),
                        ({"flags": ["x" * 10_000]}, "list of names")):
        with pytest.raises(StoreError, match=match):
            store.submit("ann", task.assignment_id, 4, **note)
    assert store.human_ratings("p").empty and store.progress("p", "ann", "ratings").open == 1


def test_an_edit_is_a_new_version_and_the_old_one_is_kept(store):
    first = _rate(store, "ann", 2, comment="too short")
    edited = store.edit_answer("p", "ann", first.annotation_id, choice=6, comment="on a second read it is fine")
    assert (edited.version, edited.value, edited.annotation_id != first.annotation_id) == (2, "6", True)
    trail = store.audit_trail("p")
    assert trail[["value", "comment", "version", "current"]].values.tolist() == [
        ["2", "too short", 1, False], ["6", "on a second read it is fine", 2, True]]
    assert trail["revises"].tolist()[1] == first.annotation_id
    mine = store.my_answers("p", "ann", "ratings")
    assert [(a.shown, a.version) for a in mine] == [("6", 2)]
    assert store.human_ratings("p")["rating"].tolist() == [6]  # the export counts the answer once, as edited


def test_aggregation_uses_the_latest_version_of_each_annotators_answer(store):
    store.create_project_from_generation(small_generation(1, 1), "one", overlap=2)
    a, b = _rate(store, "ann", 2, "one"), _rate(store, "bob", 2, "one")
    store.edit_answer("one", "ann", a.annotation_id, choice=6)
    store.edit_answer("one", "bob", b.annotation_id, choice=7)
    frame, _ = store.training_feedback("one", "ratings")
    assert frame["rating"].tolist() == [7]  # median of 6 and 7 rounded half up; never the first answers' 2
    assert len(store.audit_trail("one")) == 4


def test_a_ranking_edit_is_given_as_shown(store):
    task = store.next_task("p", "ann", "rankings")
    first = store.submit("ann", task.assignment_id, "left", submit_id=task.submit_id)
    store.edit_answer("p", "ann", first.annotation_id, choice="right", flags="bad response")
    row = store.human_rankings("p", "ann").iloc[0]
    assert row["feedback"] == ("(a)" if task.swapped else "(b)") and row["flags"] == "bad-response"
    assert [a.shown for a in store.my_answers("p", "ann", "rankings")] == ["right"]


def test_only_ones_own_current_answers_can_be_edited(store):
    first = _rate(store, "ann", 2)
    with pytest.raises(PermissionError, match="not one of yours"):
        store.edit_answer("p", "bob", first.annotation_id, choice=7)
    store.create_project_from_generation(small_generation(1, 2), "other")
    with pytest.raises(PermissionError, match="not one of yours"):
        store.edit_answer("other", "ann", first.annotation_id, choice=7)
    for bad in ("x", None, 10**30):
        with pytest.raises(PermissionError):
            store.edit_answer("p", "ann", bad, choice=7)
    store.edit_answer("p", "ann", first.annotation_id, choice=5)
    # A second click of the same edit returns it; a different edit of the replaced version is refused.
    again = store.edit_answer("p", "ann", first.annotation_id, choice=5)
    assert again.duplicate and again.version == 2
    with pytest.raises(StoreError, match="changed since"):
        store.edit_answer("p", "ann", first.annotation_id, choice=1)
    assert store.edit_answer("p", "ann", again.annotation_id).duplicate  # nothing changed: nothing stored
    assert store.audit_trail("p")["value"].tolist() == ["2", "5"]


def test_undo_withdraws_the_last_answer_with_its_edits_and_the_trail_keeps_them(store):
    old = _rate(store, "ann", 4)
    last = _rate(store, "ann", 2)
    store.edit_answer("p", "ann", last.annotation_id, choice=3)
    store.edit_answer("p", "ann", old.annotation_id, comment="edited later")  # an edit is not what undo takes back
    undone = store.undo_last("p", "ann", "ratings")
    assert (undone.value, undone.version) == ("3", 2)
    assert store.human_ratings("p", "ann")["comment"].tolist() == ["edited later"]
    again = _rate(store, "ann", 7)
    assert (again.task_id, again.version) == (last.task_id, 3)  # versions count every row of the assignment
    trail = store.audit_trail("p")
    assert trail["undone"].tolist() == [False, True, True, False, False]
    assert store.human_ratings("p", "ann")["rating"].tolist() == [4, 7]
    with pytest.raises(StoreError, match="undone"):
        store.edit_answer("p", "ann", last.annotation_id, choice=1)


def test_a_store_from_before_versions_migrates_and_numbers_its_answer_rows(db_url):  # noqa: F811
    s = Store(db_url)
    s.create_project_from_generation(small_generation(1, 2), "p")
    task = s.next_task("p", "ann", "ratings")
    s.submit("ann", task.assignment_id, 2)
    s.undo_last("p", "ann", "ratings")
    task = s.next_task("p", "ann", "ratings")
    s.submit("ann", task.assignment_id, 5)
    s.close()
    engine = create_engine(db_url)  # back to schema v3: no notes, no versions
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ux_annotation_version")
        for column in ("comment", "flags", "version", "revises"):
            conn.exec_driver_sql(f"ALTER TABLE annotations DROP COLUMN {column}")
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version >= 4")
    engine.dispose()
    s = Store(db_url)
    trail = s.audit_trail("p")
    assert trail[["value", "version", "undone", "current", "comment", "flags"]].values.tolist() == [
        ["2", 1, True, False, "", ""], ["5", 2, False, True, "", ""]]
    mine = s.my_answers("p", "ann", "ratings")
    assert s.edit_answer("p", "ann", mine[0].annotation_id, choice=6).version == 3
    with s.db.read() as conn:
        versions = [r[0] for r in conn.exec_driver_sql("SELECT version FROM schema_version ORDER BY version")]
    s.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1))
