"""The Rate/Rank view logic without a browser: comment and flags with an answer, keys pressed with no task on
screen, the annotator's own history and its edit form, and the audit-trail export (admins only)."""

import json

import pandas as pd
import pytest

from sparse_feedback.store import Store, StoreError
from sparse_feedback.ui import annotation, exports, history
from sparse_feedback.ui.access import Identity
from tests.appserver import small_generation

ANN, BOB = Identity("ann", "annotator"), Identity("bob", "annotator")


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    s.create_project_from_generation(small_generation(2, 3), "p", overlap=2)
    yield s
    s.close()


def test_an_answer_carries_its_comment_and_flags_and_the_next_task_starts_clean(store):
    view = annotation.show(store, ANN, "p", "ratings")
    after = annotation.answer(store, ANN, "p", "ratings", view.ticket, "5", "reads like an ad", ["bad-response"])
    assert (after.comment, after.flags, after.ticket["task_id"] != view.ticket["task_id"]) == ("", [], True)
    row = store.human_ratings("p", "ann").iloc[0]
    assert (row["rating"], row["comment"], row["flags"]) == (5, "reads like an ad", "bad-response")
    undone = annotation.undo(store, ANN, "p", "ratings")  # the withdrawn answer's notes come back with its task
    assert (undone.comment, undone.flags, undone.ticket["task_id"]) == ("reads like an ad", ["bad-response"],
                                                                          view.ticket["task_id"])


def test_a_key_with_no_task_on_screen_records_nothing_and_says_so(store):
    view = annotation.answer(store, ANN, "p", "ratings", {}, "3")
    assert "Nothing recorded" in view.result and view.ticket and store.human_ratings("p").empty
    assert "Nothing recorded" in annotation.skip(store, ANN, "p", "ratings", None).result
    with pytest.raises(StoreError, match="choose a project"):
        annotation.answer(store, ANN, "", "ratings", view.ticket, "3")


def test_the_history_lists_only_ones_own_answers_and_an_edit_keeps_the_old_version(store):
    for who, value in ((ANN, "2"), (BOB, "6")):
        view = annotation.show(store, who, "p", "ratings")
        annotation.answer(store, who, "p", "ratings", view.ticket, value, "first thought")
    mine = history.listing(store, ANN, "p", "ratings")
    assert mine.table["your answer"].tolist() == ["2"] and len(mine.choices) == 1
    answer_id = mine.choices[0][1]
    opened = history.open_answer(store, ANN, "p", "ratings", answer_id)
    assert "Question number" in opened.text and "Response" in opened.text
    assert (opened.choice, opened.comment, opened.flags) == ("2", "first thought", [])
    with pytest.raises(PermissionError, match="not one of yours"):
        history.open_answer(store, BOB, "p", "ratings", answer_id)
    with pytest.raises(StoreError, match="ratings answer"):
        history.open_answer(store, ANN, "p", "rankings", answer_id)
    message, current = history.save_edit(store, ANN, "p", "ratings", answer_id, "4", "on reflection", ["unclear"])
    assert "version 2" in message and current != answer_id
    assert history.save_edit(store, ANN, "p", "ratings", current, "4", "on reflection", ["unclear"])[0].startswith(
        "Nothing changed")
    row = history.listing(store, ANN, "p", "ratings").table.iloc[0]
    assert (row["your answer"], row["flags"], row["comment"], row["version"]) == ("4", "unclear", "on reflection", 2)
    assert sorted(store.human_ratings("p")["rating"]) == [4, 6]


def test_the_audit_trail_export_has_every_version_and_is_for_admins(store, tmp_path):
    view = annotation.show(store, ANN, "p", "ratings")
    annotation.answer(store, ANN, "p", "ratings", view.ticket, "2", "x")
    (answer_id,) = [c[1] for c in history.listing(store, ANN, "p", "ratings").choices]
    history.save_edit(store, ANN, "p", "ratings", answer_id, "3", "y", [])
    assert exports.capability(exports.AUDIT) == "manage" and exports.capability("ratings") == "export"
    path, rows = exports.export_file(store, "p", exports.AUDIT, "human", "csv", tmp_path)
    frame = pd.read_csv(path)
    assert rows == 2 and frame[["value", "version", "current", "comment"]].values.tolist() == [
        [2, 1, False, "x"], [3, 2, True, "y"]]
    path, _ = exports.export_file(store, "p", exports.AUDIT, "human", "json", tmp_path)
    assert [r["revises"] for r in json.loads(path.read_text())] == [None, answer_id]
    with pytest.raises(StoreError, match="no seed layout"):
        exports.export_file(store, "p", exports.AUDIT, "human", "seed", tmp_path)
    path, _ = exports.export_file(store, "p", "ratings", "human", "csv", tmp_path)
    assert pd.read_csv(path, keep_default_na=False)[["rating", "comment", "flags"]].values.tolist() == [[3, "y", ""]]


def test_the_page_draws_no_emoji_or_symbol_glyphs():
    """Text shown by the app (string literals of app.py, pages/ and ui/, docstrings aside) holds no arrows,
    dingbats, geometric shapes or emoji: a machine without emoji fonts would draw them as boxes."""
    import ast
    import re

    from tests.appserver import ROOT

    symbols = re.compile("[\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u25ff\u2600-\u27bf\u2b00-\u2bff\ufe0f"
                         "\U0001f000-\U0001faff]")
    found = []
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "sparse_feedback" / "ui").glob("*.py")]:
        tree = ast.parse(path.read_text("utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and n.body and isinstance(n.body[0], ast.Expr)}
        found += [f"{path.name}:{n.lineno}: {symbols.findall(n.value)}" for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
                  and symbols.search(n.value)]
    assert found == []
