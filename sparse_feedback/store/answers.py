"""An annotator's own answers: their history, edits as new versions, and the audit trail of every version.

An edit never changes a stored row: it adds one with the next ``version`` of the same assignment, ``revises``
pointing at the row it replaces. Everything that reads answers for use (exports, dashboards, training) takes
the latest version of each answer (:func:`latest_only`); the audit trail keeps them all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

import pandas as pd
from sqlalchemy import and_, exists, insert, select

from sparse_feedback.store.annotate import (
    _check_protocol, _parse_choice, _replayed, _submission, next_version, stored_to_shown,
)
from sparse_feedback.store.limits import StoreError, check_comment, check_flags, check_name, check_submit_id
from sparse_feedback.store.schema import annotations, assignments, items, pair_tasks, rating_tasks, utcnow


def latest_only(table=annotations):
    """A WHERE clause keeping, of each assignment's answer rows, the latest version still counted (not undone)."""
    newer = annotations.alias("newer")
    return and_(table.c.undone.is_(False), ~exists().where(
        newer.c.assignment_id == table.c.assignment_id, newer.c.id > table.c.id, newer.c.undone.is_(False)))


@dataclass(frozen=True)
class Answer:
    """The latest version of one of an annotator's answers, as they saw the item."""

    annotation_id: int
    protocol: str
    item: int  # the item's position in the project
    instruction: str
    shown: str  # '1'..'7', or 'left'/'right'/'equal' as shown to them
    comment: str
    flags: str
    version: int
    created_at: datetime


UNDONE = "that answer was undone: answer the task again instead"


class AnswersMixin:
    db: object

    def my_answers(self, project: str, annotator: str, protocol: str, limit: int = 500) -> list[Answer]:
        """The annotator's answers on ``project`` (latest version of each, newest first; at most ``limit``)."""
        _check_protocol(protocol)
        annotator = check_name("annotator", annotator)
        task = rating_tasks if protocol == "ratings" else pair_tasks
        with self.db.read() as conn:
            pid = self._project_row(conn, project).id
            rows = conn.execute(
                select(annotations, items.c.position, items.c.instruction)
                .join(task, task.c.id == annotations.c.task_id).join(items, items.c.id == task.c.item_id)
                .where(annotations.c.project_id == pid, annotations.c.protocol == protocol,
                       annotations.c.annotator == annotator, latest_only())
                .order_by(annotations.c.id.desc()).limit(limit)).all()
        return [Answer(r.id, r.protocol, r.position, r.instruction, _shown(r), r.comment or "", r.flags or "",
                       int(r.version or 1), r.created_at) for r in rows]

    def my_answer(self, project: str, annotator: str, annotation_id):
        """(the answer, the task as it was shown) for one of the annotator's own current answers."""
        annotator = check_name("annotator", annotator)
        with self.db.read() as conn:
            proj = self._project_row(conn, project)
            row = _own_latest(conn, proj.id, annotator, annotation_id)
            a = conn.execute(select(assignments).where(assignments.c.id == row.assignment_id)).first()
            return _submission(row, duplicate=False), self._task_view(conn, a, proj.name)

    def edit_answer(self, project: str, annotator: str, annotation_id, choice=None, comment=None, flags=None,
                    submit_id: str | None = None):
        """Store a new version of one of the annotator's answers (None keeps that part as it was); the old row is
        kept unchanged. An edit identical to the current version stores nothing (``duplicate``); editing a version
        that was already replaced by exactly this edit (a double click) returns that edit."""
        annotator, submit_id = check_name("annotator", annotator), check_submit_id(submit_id)
        comment = None if comment is None else check_comment(comment)
        flags = None if flags is None else check_flags(flags)
        with self.db.write() as conn:
            proj = self._project_row(conn, project)
            replayed = _replayed(conn, annotator, submit_id)
            if replayed is not None:
                return replayed
            row = _own(conn, proj.id, annotator, annotation_id)
            if row.undone:
                raise StoreError(UNDONE)
            value = row.value if choice in (None, "") else _parse_choice(row.protocol, choice, bool(row.swapped))[0]
            wanted = (value, row.comment if comment is None else comment, row.flags if flags is None else flags)
            current = conn.execute(select(annotations).where(
                annotations.c.assignment_id == row.assignment_id, latest_only())).first()
            if current is None:
                raise StoreError(UNDONE)
            if (current.value, current.comment, current.flags) == wanted:
                return _submission(current, duplicate=True)
            if current.id != row.id:
                raise StoreError("that answer was changed since you opened it: reload your answers and edit again")
            values = dict(project_id=row.project_id, assignment_id=row.assignment_id, protocol=row.protocol,
                          task_id=row.task_id, annotator=annotator, value=wanted[0], swapped=bool(row.swapped),
                          seconds=row.seconds, created_at=utcnow(), submit_id=submit_id or f"edit-{uuid.uuid4().hex}",
                          undone=False, comment=wanted[1], flags=wanted[2],
                          version=next_version(conn, row.assignment_id), revises=row.id)
            new_id = conn.execute(insert(annotations).values(**values)).inserted_primary_key[0]
        return _submission(SimpleNamespace(id=new_id, **values), duplicate=False)

    def audit_trail(self, project: str) -> pd.DataFrame:
        """Every stored answer row of ``project``, versions and undone answers included, in the order written:
        ``annotation_id, annotator, protocol, item, task_id, value, comment, flags, version, revises, undone,
        current, seconds, created_at, kind`` (``current``: the version exports and dashboards use; ``kind``:
        ``answer``, or ``adjudication`` for the decisions of :mod:`~sparse_feedback.store.adjudicate`)."""
        with self.db.read() as conn:
            pid = self._project_row(conn, project).id
            current = set(conn.execute(select(annotations.c.id).where(
                annotations.c.project_id == pid, latest_only())).scalars())
            rows = []
            for protocol, task in (("ratings", rating_tasks), ("rankings", pair_tasks)):
                rows += conn.execute(
                    select(annotations, items.c.position).join(task, task.c.id == annotations.c.task_id)
                    .join(items, items.c.id == task.c.item_id)
                    .where(annotations.c.project_id == pid, annotations.c.protocol == protocol)).all()
        columns = ["annotation_id", "annotator", "protocol", "item", "task_id", "value", "comment", "flags", "version",
                   "revises", "undone", "current", "seconds", "created_at"]
        out = [(r.id, r.annotator, r.protocol, r.position, r.task_id, r.value, r.comment or "", r.flags or "",
                int(r.version or 1), r.revises, bool(r.undone), r.id in current, r.seconds, r.created_at)
               for r in sorted(rows, key=lambda r: r.id)]
        frame = pd.DataFrame(out, columns=columns, dtype=object).assign(kind="answer")
        decisions = self.adjudication_trail(project)
        if len(decisions):
            frame = pd.concat([frame, decisions[frame.columns]], ignore_index=True)
        return frame.astype({"annotation_id": int, "item": int, "task_id": int, "version": int, "undone": bool,
                             "current": bool})


def _shown(row) -> str:
    return row.value if row.protocol == "ratings" else stored_to_shown(row.value, bool(row.swapped))


def _own(conn, project_id: int, annotator: str, annotation_id):
    """One of the annotator's answer rows on this project (any version); refuses anyone else's."""
    try:
        wanted = int(annotation_id)
    except (TypeError, ValueError):
        wanted = 0
    # ids are 32-bit on PostgreSQL: a larger number would fail the query, not just miss
    row = conn.execute(select(annotations).where(annotations.c.id == wanted)).first() if 0 < wanted < 2**31 else None
    if row is None or row.annotator != annotator or row.project_id != project_id:
        raise PermissionError("that answer is not one of yours")
    return row


def _own_latest(conn, project_id: int, annotator: str, annotation_id):
    row = _own(conn, project_id, annotator, annotation_id)
    current = conn.execute(select(annotations).where(
        annotations.c.assignment_id == row.assignment_id, latest_only())).first()
    if current is None:
        raise StoreError(UNDONE)
    return current
