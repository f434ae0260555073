"""Human annotation: assignment to k annotators, submit (idempotent), undo, skip and progress.

Each task goes to ``overlap`` annotators; an annotator never gets the same task twice (a unique
constraint, not just a query); the next task is always one with the fewest active assignments, so
queues stay balanced. Which task is next can be chosen by the caller (``choose``: the study policy of
:mod:`sparse_feedback.study.assignment`); the store only offers :func:`candidates` and records the
choice. Tasks of gold items are never in the regular pool (a study serves them as gold). Rankings are
shown in a random left/right order, recorded, and answers are stored in the un-randomised
``(a)``/``(b)``/``equal`` terms of the pair task.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from types import SimpleNamespace

import pandas as pd
from sqlalchemy import func, insert, select, text, update

from sparse_feedback.protocols import flip
from sparse_feedback.store.limits import check_comment, check_flags, check_name, check_submit_id
from sparse_feedback.store.projects import StoreError
from sparse_feedback.store.schema import (
    annotations, assignments, items, pair_tasks, projects, rating_tasks, utcnow,
)

PROTOCOLS = ("ratings", "rankings")
SHOWN_CHOICES = ("left", "right", "equal")
_TASK_TABLE = {"ratings": "rating_tasks", "rankings": "pair_tasks"}


@dataclass(frozen=True)
class Task:
    """One task as shown to one annotator. ``submit_id`` is the idempotency key the UI sends back."""

    assignment_id: int
    submit_id: str
    protocol: str
    task_id: int
    project: str
    instruction: str
    input: str
    response: str | None = None  # ratings
    left: str | None = None  # rankings, as shown
    right: str | None = None
    swapped: bool = False  # rankings: the pair's (b) is on the left


@dataclass(frozen=True)
class Submission:
    annotation_id: int
    assignment_id: int
    protocol: str
    task_id: int
    value: str  # stored terms: '1'..'7' or '(a)'/'(b)'/'equal'
    shown: str  # as the annotator saw it: '1'..'7' or 'left'/'right'/'equal'
    swapped: bool
    seconds: float
    duplicate: bool  # True when this submit id had already been stored (or an edit changed nothing)
    comment: str = ""
    flags: str = ""  # limits.FLAGS, comma-separated
    version: int = 1


@dataclass(frozen=True)
class Progress:
    done: int
    skipped: int
    open: int
    available: int  # tasks still needing annotators that this annotator has not had

    @property
    def assigned(self) -> int:
        """The annotator's queue: done plus what is open or still available to them."""
        return self.done + self.open + self.available


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise StoreError(f"protocol must be 'ratings' or 'rankings', not {protocol!r}")


def shown_to_stored(choice: str, swapped: bool) -> str:
    """Translate a choice made on screen into the pair's un-randomised terms.

    >>> shown_to_stored("left", False), shown_to_stored("left", True), shown_to_stored("equal", True)
    ('(a)', '(b)', 'equal')
    """
    label = {"left": "(a)", "right": "(b)", "equal": "equal"}[choice]
    return flip(label) if swapped else label


def stored_to_shown(label: str, swapped: bool) -> str:
    """The inverse of :func:`shown_to_stored`.

    >>> stored_to_shown("(a)", True)
    'right'
    """
    return {"(a)": "left", "(b)": "right", "equal": "equal"}[flip(label) if swapped else label]


class AnnotateMixin:
    db: object

    def _project_row(self, conn, name: str):
        name = check_name("project", name)
        row = conn.execute(select(projects).where(projects.c.name == name)).first()
        if row is None:
            raise StoreError(f"no project named {name!r}")
        return row

    def next_task(self, project: str, annotator: str, protocol: str, choose=None) -> Task | None:
        """The annotator's open task (resumed after a reload or an undo), else a newly assigned one; None
        when their queue is empty. ``choose(conn, project_row, annotator, protocol)`` returns the task id to
        assign (or None); by default the least-served task of the regular pool (:func:`candidates`)."""
        _check_protocol(protocol)
        project, annotator = check_name("project", project), check_name("annotator", annotator)
        with self.db.write() as conn:
            return self._next_task(conn, self._project_row(conn, project), annotator, protocol, utcnow(), choose)

    def _next_task(self, conn, proj, annotator: str, protocol: str, now, choose=None) -> Task | None:
        row = conn.execute(select(assignments).where(
            assignments.c.project_id == proj.id, assignments.c.protocol == protocol,
            assignments.c.annotator == annotator, assignments.c.status == "open",
        ).order_by(assignments.c.updated_at.desc(), assignments.c.id.desc()).limit(1)).first()
        if row is not None:
            conn.execute(update(assignments).where(assignments.c.id == row.id).values(shown_at=now))
        else:
            # Choosing the least-served task and counting it must not interleave with another annotator's
            # choice (both would take the last free slot). SQLite's one writer already serialises this; on a
            # server (PostgreSQL, READ COMMITTED) the project row's lock does, per project (NO KEY UPDATE: the
            # answer just inserted holds KEY SHARE on it through its foreign key, which must not deadlock).
            conn.execute(select(projects.c.id).where(projects.c.id == proj.id).with_for_update(key_share=True))
            table = _TASK_TABLE[protocol]
            task_id = (choose or _least_served)(conn, proj, annotator, protocol)
            if task_id is None:
                return None
            conn.execute(text(f"UPDATE {table} SET active = active + 1 WHERE id = :id"), dict(id=task_id))
            values = dict(project_id=proj.id, protocol=protocol, task_id=task_id, annotator=annotator,
                          status="open", swapped=protocol == "rankings" and random.random() < 0.5,
                          serve_token=uuid.uuid4().hex, shown_at=now, updated_at=now)
            aid = conn.execute(insert(assignments).values(**values)).inserted_primary_key[0]
            row = SimpleNamespace(id=aid, **values)
        return self._task_view(conn, row, proj.name)

    def _task_view(self, conn, a, project: str) -> Task:
        table = rating_tasks if a.protocol == "ratings" else pair_tasks
        t = conn.execute(select(table).where(table.c.id == a.task_id)).first()
        it = conn.execute(select(items).where(items.c.id == t.item_id)).first()
        common = dict(assignment_id=a.id, submit_id=a.serve_token, protocol=a.protocol, task_id=a.task_id,
                      project=project, instruction=it.instruction, input=it.input)
        if a.protocol == "ratings":
            return Task(**common, response=it.responses[t.response_index])
        first, second = it.responses[t.index1], it.responses[t.index2]
        left, right = (second, first) if a.swapped else (first, second)
        return Task(**common, left=left, right=right, swapped=bool(a.swapped))

    def submit(self, annotator: str, assignment_id: int, choice, submit_id: str | None = None, comment: str = "",
               flags=()) -> Submission:
        """Store one answer, committed before this returns. ``choice``: 1-7 for ratings; 'left', 'right'
        or 'equal' (as shown) for rankings; an optional ``comment`` and ``flags`` (:data:`limits.FLAGS`) go with
        it. Repeating a ``submit_id`` returns the stored answer again."""
        annotator, submit_id = check_name("annotator", annotator), check_submit_id(submit_id)
        note = check_comment(comment), check_flags(flags)
        with self.db.write() as conn:
            return self._submit(conn, annotator, assignment_id, choice, submit_id, utcnow(), note=note)

    def submit_and_next(self, project: str, annotator: str, protocol: str, assignment_id: int, choice,
                        submit_id: str | None = None, comment: str = "", flags=(),
                        choose=None) -> tuple[Submission, Task | None]:
        """:meth:`submit` and :meth:`next_task` (with ``choose``) in one transaction: one commit per answer."""
        _check_protocol(protocol)
        project, annotator = check_name("project", project), check_name("annotator", annotator)
        submit_id, note = check_submit_id(submit_id), (check_comment(comment), check_flags(flags))
        now = utcnow()
        with self.db.write() as conn:
            sub = self._submit(conn, annotator, assignment_id, choice, submit_id, now, protocol, note)
            return sub, self._next_task(conn, self._project_row(conn, project), annotator, protocol, now, choose)

    def _submit(self, conn, annotator: str, assignment_id, choice, submit_id: str | None, now,
                protocol: str | None = None, note: tuple[str, str] = ("", "")) -> Submission:
        replayed = _replayed(conn, annotator, submit_id)
        if replayed is not None:
            return replayed
        a = _open_assignment(conn, annotator, assignment_id)
        if protocol is not None and a.protocol != protocol:
            raise StoreError(f"that task is a {a.protocol} task")
        value, shown = _parse_choice(a.protocol, choice, bool(a.swapped))
        seconds = max(0.0, (now - a.shown_at).total_seconds())
        values = dict(project_id=a.project_id, assignment_id=a.id, protocol=a.protocol, task_id=a.task_id,
                      annotator=annotator, value=value, swapped=bool(a.swapped), seconds=seconds, created_at=now,
                      submit_id=submit_id or a.serve_token, undone=False, comment=note[0], flags=note[1],
                      version=next_version(conn, a.id), revises=None)
        aid = conn.execute(insert(annotations).values(**values)).inserted_primary_key[0]
        conn.execute(update(assignments).where(assignments.c.id == a.id).values(status="done", updated_at=now))
        return _submission(SimpleNamespace(id=aid, **values), duplicate=False, shown=shown)

    def undo_last(self, project: str, annotator: str, protocol: str) -> Submission | None:
        """Withdraw the annotator's latest answer (kept, flagged undone with its edits) and reopen its task for
        them. Edits of earlier answers are not undone: the latest first answer is."""
        _check_protocol(protocol)
        annotator = check_name("annotator", annotator)
        now = utcnow()
        with self.db.write() as conn:
            proj = self._project_row(conn, project)
            last = conn.execute(select(annotations).where(
                annotations.c.project_id == proj.id, annotations.c.protocol == protocol,
                annotations.c.annotator == annotator, annotations.c.undone.is_(False),
                annotations.c.revises.is_(None),
            ).order_by(annotations.c.id.desc()).limit(1)).first()
            if last is None:
                return None
            latest = conn.execute(select(annotations).where(annotations.c.assignment_id == last.assignment_id)
                                  .order_by(annotations.c.id.desc()).limit(1)).first()
            conn.execute(update(annotations).where(annotations.c.assignment_id == last.assignment_id).values(undone=True))
            conn.execute(update(assignments).where(assignments.c.id == last.assignment_id).values(
                status="open", serve_token=uuid.uuid4().hex, shown_at=now, updated_at=now))
        return _submission(latest, duplicate=False)

    def skip(self, annotator: str, assignment_id: int) -> None:
        """Pass on a task: it leaves this annotator's queue for good and goes back to the others."""
        annotator = check_name("annotator", annotator)
        with self.db.write() as conn:
            a = _open_assignment(conn, annotator, assignment_id)
            conn.execute(update(assignments).where(assignments.c.id == a.id).values(
                status="skipped", updated_at=utcnow()))
            conn.execute(text(f"UPDATE {_TASK_TABLE[a.protocol]} SET active = active - 1 WHERE id = :id"),
                         dict(id=a.task_id))

    def progress(self, project: str, annotator: str, protocol: str) -> Progress:
        _check_protocol(protocol)
        annotator = check_name("annotator", annotator)
        with self.db.read() as conn:
            proj = self._project_row(conn, project)
            counts = dict(conn.execute(text(
                "SELECT status, COUNT(*) FROM assignments WHERE project_id=:pid AND protocol=:protocol "
                "AND annotator=:who GROUP BY status"), dict(pid=proj.id, protocol=protocol, who=annotator)).all())
            table, args = _TASK_TABLE[protocol], dict(pid=proj.id, protocol=protocol, who=annotator, k=proj.overlap)
            # Tasks still short of k answers, less those this annotator already had (any status).
            open_to_all = conn.execute(text(
                f"SELECT COUNT(*) FROM {table} t WHERE project_id = :pid AND active < :k AND {NOT_GOLD}"),
                args).scalar_one()
            had = conn.execute(text(
                f"SELECT COUNT(*) FROM assignments a JOIN {table} t ON t.id = a.task_id WHERE a.annotator = :who "
                f"AND a.project_id = :pid AND a.protocol = :protocol AND t.active < :k AND {NOT_GOLD}"),
                args).scalar_one()
            available = open_to_all - had
        return Progress(counts.get("done", 0), counts.get("skipped", 0), counts.get("open", 0), available)

    def everyone_progress(self, project: str) -> pd.DataFrame:
        """Per annotator and protocol: done, skipped, open and median seconds per answer (admin view)."""
        with self.db.read() as conn:
            proj = self._project_row(conn, project)
            rows = conn.execute(text(
                "SELECT annotator, protocol, "
                "SUM(CASE WHEN status='done' THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN status='skipped' THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN status='open' THEN 1 ELSE 0 END) "
                "FROM assignments WHERE project_id=:pid GROUP BY annotator, protocol ORDER BY annotator, protocol"),
                dict(pid=proj.id)).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=["annotator", "protocol", "done", "skipped", "open"])

    def coverage(self, project: str) -> dict[str, tuple[int, int]]:
        """Per protocol: (tasks with ``overlap`` answers, all tasks), gold items left out (they are checks, not
        tasks to cover)."""
        out = {}
        with self.db.read() as conn:
            proj = self._project_row(conn, project)
            for protocol, table in _TASK_TABLE.items():
                total = conn.execute(text(f"SELECT COUNT(*) FROM {table} t WHERE project_id=:pid AND {NOT_GOLD}"),
                                     dict(pid=proj.id)).scalar_one()
                full = conn.execute(text(
                    "SELECT COUNT(*) FROM (SELECT task_id FROM annotations WHERE project_id=:pid AND "
                    "protocol=:protocol AND NOT undone AND task_id NOT IN (SELECT task_id FROM gold "
                    "WHERE protocol=:protocol) GROUP BY task_id HAVING COUNT(DISTINCT annotator) >= :k) q"),
                    dict(pid=proj.id, protocol=protocol, k=proj.overlap)).scalar_one()
                out[protocol] = (full, total)
        return out


NOT_GOLD = "NOT EXISTS (SELECT 1 FROM gold g WHERE g.item_id = t.item_id)"  # ``t``: a task table row


@dataclass(frozen=True)
class Candidate:
    """A task that may be assigned next: its id, its item and how many active assignments it has."""

    task_id: int
    item_id: int
    active: int


def candidates(conn, proj, annotator: str, protocol: str, where: str = "", params: dict | None = None,
               limit: int = 1, pool: str = "regular") -> list[Candidate]:
    """Tasks this annotator never had, fewest active (open or done) assignments first, then by the project's stored
    queue order (``priority``, schema v8; all 0 under ``random``), then by id: an index walk of (project_id, active,
    priority, id). ``pool``: ``regular`` (short of ``overlap`` answers, gold items left
    out) or ``gold`` (the gold tasks, no overlap cap). ``where`` adds a condition on ``t`` (the task table)."""
    table = _TASK_TABLE[protocol]
    if pool == "gold":
        scope = "EXISTS (SELECT 1 FROM gold g WHERE g.protocol = :protocol AND g.task_id = t.id)"
    else:
        scope = f"t.active < :k AND {NOT_GOLD}"
    sql = (f"SELECT t.id, t.item_id, t.active FROM {table} t WHERE t.project_id = :pid AND {scope} "
           "AND NOT EXISTS (SELECT 1 FROM assignments x WHERE x.protocol = :protocol AND x.task_id = t.id "
           f"AND x.annotator = :who) {'AND ' + where if where else ''} ORDER BY t.active, t.priority, t.id LIMIT :n")
    args = dict(params or {}, pid=proj.id, protocol=protocol, who=annotator, k=proj.overlap, n=limit)
    return [Candidate(*row) for row in conn.execute(text(sql), args).all()]


def _least_served(conn, proj, annotator: str, protocol: str) -> int | None:
    found = candidates(conn, proj, annotator, protocol)
    return found[0].task_id if found else None


def next_version(conn, assignment_id: int) -> int:
    """The version number the next answer row of this assignment gets (1 for its first)."""
    last = conn.execute(select(func.max(annotations.c.version)).where(
        annotations.c.assignment_id == assignment_id)).scalar()
    return (last or 0) + 1


def _open_assignment(conn, annotator: str, assignment_id):
    """The caller's own, still open assignment; refuses anyone else's."""
    try:
        a = conn.execute(select(assignments).where(assignments.c.id == int(assignment_id))).first()
    except (TypeError, ValueError):
        a = None
    if a is None or a.annotator != annotator:
        raise PermissionError("that task is not assigned to you")
    if a.status != "open":
        raise StoreError(f"that task is already {'answered' if a.status == 'done' else a.status}")
    return a


def _parse_choice(protocol: str, choice, swapped: bool) -> tuple[str, str]:
    if protocol == "ratings":
        try:
            rating = int(str(choice).strip())
        except ValueError:
            rating = 0
        if not 1 <= rating <= 7:
            raise StoreError(f"a rating is an integer from 1 to 7, not {choice!r}")
        return str(rating), str(rating)
    shown = str(choice).strip().lower()
    if shown not in SHOWN_CHOICES:
        raise StoreError(f"a ranking answer is 'left', 'right' or 'equal', not {choice!r}")
    return shown_to_stored(shown, swapped), shown


def _replayed(conn, annotator: str, submit_id: str | None) -> Submission | None:
    """What an answer already stored under ``submit_id`` was (a retried or double-clicked request), marked
    ``duplicate``; None for a new submission. Another annotator's id is refused."""
    if not submit_id:
        return None
    prev = conn.execute(select(annotations).where(annotations.c.submit_id == submit_id)).first()
    if prev is None:
        return None
    if prev.annotator != annotator:
        raise PermissionError("that submission belongs to someone else")
    return _submission(prev, duplicate=True)


def _submission(row, duplicate: bool, shown: str | None = None) -> Submission:
    if shown is None:
        shown = row.value if row.protocol == "ratings" else stored_to_shown(row.value, bool(row.swapped))
    return Submission(row.id, row.assignment_id, row.protocol, row.task_id, row.value, shown, bool(row.swapped),
                      float(row.seconds or 0.0), duplicate, row.comment or "", row.flags or "", int(row.version or 1))
