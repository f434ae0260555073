"""The Disagreements tab's adjudication: accept one judgement's label for the selected pair, or enter one, with a
reason; stored by the store as the source ``adjudicated`` (a new row, never an edit of anyone's answer)."""

from __future__ import annotations

import html

import pandas as pd

from sparse_feedback.protocols import flip
from sparse_feedback.report import views
from sparse_feedback.store import StoreError
from sparse_feedback.store.adjudicate import ENTERED

ACCEPT_A, ACCEPT_B, ENTER = "accept A's label", "accept B's label", "enter a label"
DECISIONS = (ACCEPT_A, ACCEPT_B, ENTER)
LABEL_CHOICES = (("(a) output 1 is better", "(a)"), ("(b) output 2 is better", "(b)"), ("equal", "equal"))


def adjudicated_keys(store, project: str):
    """Pair keys of the project's adjudicated pairs (for the *unadjudicated only* filter)."""
    return views.pair_keys(store.adjudicated_rankings(project))


def decide(store, project: str, adjudicator: str, pair: pd.Series | None, a: str, b: str, kind: str,
           decision: str, label: str | None, reason: str) -> str:
    """Store the decision on ``pair`` (a row of the explorer) and say what was stored."""
    if pair is None:
        raise LookupError("choose a row of the table first")
    name_a, name_b = views.judgement_names(a, b, kind)
    if decision == ACCEPT_A:
        label, accepted = pair["label_a"], name_a
    elif decision == ACCEPT_B:
        label, accepted = pair["label_b"], name_b
    elif decision == ENTER:
        accepted = ENTERED
        if label not in {value for _, value in LABEL_CHOICES}:
            raise StoreError("choose the label to enter")
    else:
        raise StoreError(f"choose one of: {', '.join(DECISIONS)}")
    what = f"{kind}: {name_a} vs {name_b}" if kind != views.AS_PICKED else f"{name_a} vs {name_b}"
    store.adjudicate(project, adjudicator, pair["instruction"], pair["input"], pair["output1"], pair["output2"],
                     label, reason, accepted=accepted, disagreement=what)
    return f"Adjudicated as **{label}** ({'entered' if accepted == ENTERED else 'accepted from ' + accepted})."


def decision_html(store, project: str, pair: pd.Series | None) -> str:
    """The selected pair's current decision in the pair's own terms (output1 = (a)), or '' when undecided."""
    if pair is None:
        return ""
    decided = store.adjudicated_rankings(project)
    hit = decided[views.pair_keys(decided) == pair["pair"]] if len(decided) else decided
    if not len(hit):
        return "<p><b>Not adjudicated yet.</b></p>"
    d = hit.iloc[-1]
    label = d["feedback"] if d["output1"] == pair["output1"] else flip(d["feedback"])
    source = "entered" if d["accepted"] == ENTERED else f"accepted from {d['accepted']}"
    return (f"<p><b>Adjudicated</b>: {html.escape(label)} by {html.escape(d['adjudicator'])} ({html.escape(source)}): "
            f"{html.escape(d['reason'])}</p>")
