"""Adjudicating disagreements (issue 26): a decision is a new row of its own source, ``adjudicated``, never a change
to anyone's answer; it is in the audit trail, exportable, a training source; only researchers (on their projects)
and admins may decide; the explorer filters by kind and can hide what was decided."""

from pathlib import Path

import gradio as gr
import pandas as pd
import pytest
from sqlalchemy import select

from pages import disagreements
from sparse_feedback.analysis.sources import frames_from_store
from sparse_feedback.report import views
from sparse_feedback.store import Store, StoreError
from sparse_feedback.store.demo import ensure_demo
from sparse_feedback.store.schema import adjudications, annotations, llm_feedback
from sparse_feedback.ui import adjudication, exports
from tests.databases import db_url  # noqa: F401  (fixture: one SQLite and one PostgreSQL database)
from tests.test_roles import req, signed

ROOT = Path(__file__).resolve().parents[1]
A, B = f"ratings{views.SEP}LLM", f"rankings{views.SEP}LLM"


@pytest.fixture
def store(db_url):  # noqa: F811
    s = Store(db_url)
    ensure_demo(s, ROOT / "assets" / "demo")
    task = s.next_task("demo", "ann", "rankings")  # one human answer, to show it is never touched
    s.submit("ann", task.assignment_id, "left", submit_id=task.submit_id)
    yield s
    s.close()


def _rows(store, table):
    with store.db.read() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]


def _decide(store, row=0, decision=adjudication.ACCEPT_B, label=None, reason="the ranking reads both answers",
            kind=views.AS_PICKED, unadjudicated=False, who="rita"):
    return disagreements.adjudicate(store, "demo", who, A, B, "", 0, 1, row, kind, unadjudicated, decision, label,
                                    reason)


def test_adjudication_never_changes_an_existing_row_and_the_audit_trail_keeps_every_decision(store):
    before = {t.name: _rows(store, t) for t in (annotations, llm_feedback)}
    pair = views.selected_pair(frames_from_store(store, "demo"), A, B, "", 0, 1, 0)
    message, *_ = _decide(store)
    assert message.startswith(f"Adjudicated as **{pair['label_b']}** (accepted from {B})")
    first = _rows(store, adjudications)
    # the same pair decided again, by someone else, with an entered label: a new row revising the first
    store.adjudicate("demo", "root", pair["instruction"], pair["input"], pair["output2"], pair["output1"], "(a)",
                     "on a second read the other one", disagreement="re-check")
    after = {t.name: _rows(store, t) for t in (annotations, llm_feedback)}
    assert after == before  # no answer and no LLM judgement changed or went away
    decisions = _rows(store, adjudications)
    assert decisions[0] == first[0] and len(decisions) == 2  # the first decision is kept as it was
    trail = store.audit_trail("demo")
    decided = trail[trail["kind"] == "adjudication"]
    assert decided["annotator"].tolist() == ["rita", "root"] and decided["current"].tolist() == [False, True]
    assert decided["revises"].tolist()[1] == decided["annotation_id"].tolist()[0]
    assert decided["version"].tolist() == [1, 2] and (trail["kind"] == "answer").sum() == 1
    current = store.adjudicated_rankings("demo")
    assert len(current) == 1 and current.iloc[0]["adjudicator"] == "root"
    # entered as (a) for (output2, output1): stored in the pair's own terms, so output2 is the better one
    stored = current.iloc[0]
    better = stored["output1"] if stored["feedback"] == "(a)" else stored["output2"]
    assert better == pair["output2"]


def test_accepting_a_label_stores_that_judgements_label_and_entering_needs_a_label_and_a_reason(store):
    pair = views.selected_pair(frames_from_store(store, "demo"), A, B, "", 0, 1, 0)
    _decide(store, decision=adjudication.ACCEPT_A)
    row = store.adjudicated_rankings("demo").iloc[0]
    assert (row["accepted"], row["disagreement"]) == (A, f"{A} vs {B}")
    label = row["feedback"] if row["output1"] == pair["output1"] else {"(a)": "(b)", "(b)": "(a)"}.get(
        row["feedback"], row["feedback"])
    assert label == pair["label_a"]
    with pytest.raises(StoreError, match="reason"):
        _decide(store, row=1, reason="  ")
    with pytest.raises(StoreError, match="label to enter"):
        _decide(store, row=1, decision=adjudication.ENTER, label=None)
    with pytest.raises(LookupError, match="choose a row"):
        _decide(store, row=None)
    assert len(store.adjudicated_rankings("demo")) == 1  # nothing half-written by the refusals


def test_adjudicated_labels_are_exportable_and_a_training_source(store, tmp_path):
    for row in (0, 1):
        _decide(store, row=row, decision=adjudication.ENTER, label="equal" if row else "(b)")
    path, rows = exports.export_file(store, "demo", "rankings", "adjudicated", "csv", tmp_path)
    exported = pd.read_csv(path, keep_default_na=False)
    assert rows == 2 and exported["feedback"].tolist() == store.adjudicated_rankings("demo")["feedback"].tolist()
    assert {"adjudicator", "accepted", "reason"} <= set(exported.columns)
    frame, how = store.training_feedback("demo", "rankings", "adjudicated")
    assert len(frame) == 2 and "adjudicated" in how
    pairs = store.rm_pairs("demo", "adjudicated")
    assert len(pairs) == 1  # the equal pair has no chosen response
    assert "adjudicated" in exports.source_choices(store, "demo")
    with pytest.raises(StoreError, match="not ratings"):
        store.feedback("demo", "ratings", "adjudicated")


def test_unadjudicated_only_hides_the_decided_pairs(store):
    bundle = frames_from_store(store, "demo")
    total = len(views.filtered_disagreements(bundle, A, B))
    first = views.selected_pair(bundle, A, B, "", 0, 1, 0)
    _decide(store)
    _, _, rows, info = disagreements.table(store, "demo", A, B, "", 0, 1, views.AS_PICKED, True)
    assert info.endswith(f"· {total - 1} rows")
    remaining = views.filtered_disagreements(bundle, A, B, exclude=adjudication.adjudicated_keys(store, "demo"))
    assert first["pair"] not in set(remaining["pair"]) and len(remaining) == total - 1


def test_filters_by_kind_of_disagreement(store):
    bundle = frames_from_store(store, "demo")
    # LLM orders disagree: the pairs where the judge's two orders picked different responses
    _, _, rows, info = disagreements.table(store, "demo", A, B, "", 0, 1, views.LLM_ORDERS)
    disagreeing = int((store.llm_rankings("demo")["orders"] == "disagree").sum())
    assert info.endswith(f"· {disagreeing} rows") and views.ORDER_NAMES[0] in rows.columns
    found = views.filtered_disagreements(bundle, B, B, kind=views.LLM_ORDERS)
    assert (found["label_a"] != found["label_b"]).all()
    # ratings vs rankings of one source; human vs LLM needs humans
    a, b, _, _ = disagreements.table(store, "demo", B, B, "", 0, 1, views.RATINGS_VS_RANKINGS)
    assert (a["value"], b["value"]) == (A, B)
    a, b, _, info = disagreements.table(store, "demo", B, B, "", 0, 1, views.HUMAN_VS_LLM)
    assert (a["value"], b["value"]) == (f"rankings{views.SEP}majority of humans", B) and "rows" in info
    with pytest.raises(LookupError, match="no human feedback"):
        views.resolve_kind(frames_from_store(store, "paper"), views.HUMAN_VS_LLM, A, B)
    # an LLM-orders pair can be adjudicated, accepting one order's pick
    message, *_ = _decide(store, kind=views.LLM_ORDERS, decision=adjudication.ACCEPT_A)
    assert views.ORDER_NAMES[0] in message
    assert store.adjudicated_rankings("demo").iloc[0]["disagreement"].startswith(views.LLM_ORDERS)


def test_a_researcher_limited_to_one_project_can_adjudicate_only_there(tmp_path, monkeypatch):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ensure_demo(store, ROOT / "assets" / "demo")
    access = signed(store, monkeypatch)  # res: researcher of demo only; root: admin; vic: viewer; ann: annotator

    def decide(who, project):
        a, b = A, B
        return disagreements.decide_as(store, access, "", project, a, b, "", 0, 1, views.AS_PICKED, False, 0,
                                       adjudication.ACCEPT_A, None, "checked by hand", request=req(who))

    message, *_ = decide("res", "demo")
    assert message.startswith("Adjudicated")
    with pytest.raises(gr.Error, match="not one of yours"):
        decide("res", "paper")
    for who in ("vic", "ann"):
        with pytest.raises(gr.Error, match="researcher or an admin"):
            decide(who, "demo")
    decide("root", "paper")
    decided = {p: store.adjudicated_rankings(p)["adjudicator"].tolist() for p in ("demo", "paper")}
    assert decided == {"demo": ["res"], "paper": ["root"]}  # the signed-in name, never a typed one
    store.close()


def test_the_selected_pair_shows_its_current_decision(store):
    assert "Not adjudicated yet" in disagreements.detail(store, "demo", A, B, "", 0, 1, 0)
    _decide(store, decision=adjudication.ENTER, label="(b)", reason="output 2 <answers> the question")
    shown = disagreements.detail(store, "demo", A, B, "", 0, 1, 0)
    assert "<b>Adjudicated</b>: (b) by rita (entered): output 2 &lt;answers&gt; the question" in shown


def test_adjudicated_pairs_become_gold_items_with_their_decision_as_the_expected_answer(tmp_path, monkeypatch):
    from pages import study

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ensure_demo(store, ROOT / "assets" / "demo")
    access = signed(store, monkeypatch)
    for row, label in ((0, "(b)"), (1, "equal")):
        _decide(store, row=row, decision=adjudication.ENTER, label=label)
    decided = store.adjudicated_rankings("demo")
    with pytest.raises(gr.Error, match="admin"):
        study.adjudicated_gold(store, access, "", "demo", request=req("res"))
    assert study.adjudicated_gold(store, access, "", "demo", request=req("root")).startswith("Marked **2**")
    made = store.gold_tasks("demo")
    assert sorted(zip(made["task_id"], made["expected"])) == sorted(zip(decided["task_id"], decided["feedback"]))
    assert store.feedback("demo", "rankings", "adjudicated").empty  # a gold item leaves the data, as every gold item
    assert len(store.adjudicated_rankings("demo")) == 2  # the decisions themselves stay
    with pytest.raises(StoreError, match="no adjudicated pair"):
        store.adjudicated_gold("paper", "root")
    store.close()
