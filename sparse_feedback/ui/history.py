"""An annotator's own answers in the Rate and Rank tabs: the list, one answer opened for editing, the edit saved.

Saving writes a new version (the store keeps the old one for the audit trail). Callers pass the project the
annotator works in (a public visitor's sandbox copy), so nobody reaches anyone else's answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sparse_feedback.store import Store
from sparse_feedback.store.limits import StoreError
from sparse_feedback.ui.access import Identity
from sparse_feedback.ui.annotation import flag_list
from sparse_feedback.ui.render import quoted

COLUMNS = ["answer", "item", "instruction", "your answer", "flags", "comment", "version", "answered"]
CHOICES = {"ratings": [str(n) for n in range(1, 8)], "rankings": ["left", "equal", "right"]}
SNIPPET = 80


@dataclass
class Listing:
    table: pd.DataFrame
    choices: list  # (label, annotation id) for the answer picker
    note: str = ""


@dataclass
class Opened:
    """One answer in the edit form: the item as it was shown and the answer's current values."""

    text: str = ""
    choice: str | None = None
    comment: str = ""
    flags: list = field(default_factory=list)


def _short(text: str, n: int = SNIPPET) -> str:
    """>>> _short("word " * 30, 20)
    'word word word word…'
    """
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n - 1].rstrip() + "…"


def listing(store: Store, who: Identity, project: str | None, protocol: str) -> Listing:
    """The annotator's answers on ``project``, newest first, as a table and as picker choices."""
    if not project:
        return Listing(pd.DataFrame(columns=COLUMNS), [], "Choose a project first.")
    answers = store.my_answers(project, who.name, protocol)
    rows = [(a.annotation_id, a.item + 1, _short(a.instruction), a.shown, a.flags.replace(",", ", "),
             _short(a.comment), a.version, a.created_at.strftime("%Y-%m-%d %H:%M")) for a in answers]
    choices = [(f"#{a.annotation_id} · item {a.item + 1} · {a.shown} · {_short(a.instruction, 40)}", a.annotation_id)
               for a in answers]
    note = (f"{len(answers)} answer{'s' if len(answers) != 1 else ''}; pick one to edit it (a new version is "
            "saved, the old one is kept)." if answers else "No answers yet.")
    return Listing(pd.DataFrame(rows, columns=COLUMNS), choices, note)


def open_answer(store: Store, who: Identity, project: str | None, protocol: str, annotation_id) -> Opened:
    """One of the annotator's answers, with the item as they saw it."""
    if annotation_id in (None, ""):
        return Opened()
    if not project:
        raise StoreError("choose a project first")
    sub, task = store.my_answer(project, who.name, annotation_id)
    if sub.protocol != protocol:
        raise StoreError(f"that answer is a {sub.protocol} answer")
    texts = ([quoted("Response", task.response)] if protocol == "ratings"
             else [quoted("Left", task.left), quoted("Right", task.right)])
    body = "\n\n".join(t for t in (quoted("Instruction", task.instruction), quoted("Input", task.input), *texts) if t)
    return Opened(body, sub.shown, sub.comment, flag_list(sub.flags))


def save_edit(store: Store, who: Identity, project: str | None, protocol: str, annotation_id, choice, comment,
              flags) -> tuple[str, int]:
    """Store the edit as a new version; (the line to show, the id of the answer's current version)."""
    if annotation_id in (None, ""):
        raise StoreError("pick one of your answers first")
    if not project:
        raise StoreError("choose a project first")
    sub, _ = store.my_answer(project, who.name, annotation_id)
    if sub.protocol != protocol:
        raise StoreError(f"that answer is a {sub.protocol} answer")
    edited = store.edit_answer(project, who.name, annotation_id, choice=choice, comment=comment, flags=flags)
    if edited.duplicate:
        return "Nothing changed: the answer is as saved.", edited.annotation_id
    return (f"Saved as version {edited.version} (answer #{edited.annotation_id}); the earlier version is kept.",
            edited.annotation_id)
