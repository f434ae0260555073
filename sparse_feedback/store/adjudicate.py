"""Adjudication: a researcher's or admin's final label for a pair where sources disagree, as its own source.

A decision is a new row of ``adjudications`` (one source's label accepted, or one entered, always with a
reason); it never touches an annotation or an LLM answer. Deciding a pair again adds a row that ``revises``
the last one, so the audit trail keeps every decision. The current decision of each pair is the source
``adjudicated``: exportable, a training source, and gold items for the human studies (:meth:`adjudicated_gold`;
a pair made gold then leaves the data, as every gold item does).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import and_, exists, func, insert, select

from sparse_feedback.formats import LABELS, RANKING_FEEDBACK
from sparse_feedback.protocols import flip
from sparse_feedback.store.limits import NAME_MAX, StoreError, check_name, check_text
from sparse_feedback.store.schema import adjudications, gold, items, pair_tasks, utcnow

ADJUDICATED = "adjudicated"
ENTERED = "entered"  # the adjudicator's own label rather than one source's
REASON_MAX = 2_000
DECIDED = ("adjudicator", "accepted", "disagreement", "reason", "created_at", "adjudication_id", "task_id")


def current_only(table=adjudications):
    """A WHERE clause keeping each pair's latest decision."""
    newer = adjudications.alias("newer_decision")
    return ~exists().where(newer.c.project_id == table.c.project_id, newer.c.protocol == table.c.protocol,
                           newer.c.task_id == table.c.task_id, newer.c.id > table.c.id)


class AdjudicateMixin:
    db: object

    def _pair_task(self, conn, project_id: int, instruction: str, input: str, output1: str, output2: str):
        """(pair task id, whether the task stores the pair as (output2, output1))."""
        found = conn.execute(select(items.c.id, items.c.responses).where(
            items.c.project_id == project_id, items.c.instruction == instruction, items.c.input == (input or ""))
            .order_by(items.c.position)).all()
        for item_id, responses in found:
            if output1 in responses and output2 in responses and output1 != output2:
                i, j = responses.index(output1), responses.index(output2)
                task = conn.execute(select(pair_tasks.c.id, pair_tasks.c.index1).where(
                    pair_tasks.c.item_id == item_id, pair_tasks.c.index1.in_((i, j)),
                    pair_tasks.c.index2.in_((i, j)))).first()
                if task is not None:
                    return task.id, task.index1 != i
        raise StoreError("that pair is not a ranking task of this project, so it cannot be adjudicated here")

    def adjudicate(self, project: str, adjudicator: str, instruction: str, input: str, output1: str, output2: str,
                   label: str, reason: str, accepted: str = ENTERED, disagreement: str = "") -> int:
        """Store a decision on the pair (output1, output2): ``label`` is ``(a)`` (output1), ``(b)`` or ``equal``.
        Returns the new row's id; a previous decision on the pair stays, revised by this one."""
        adjudicator = check_name("adjudicator", adjudicator)
        if label not in LABELS:
            raise StoreError(f"the label must be one of {', '.join(LABELS)}, not {label!r}")
        reason = check_text("reason", reason if isinstance(reason, str) else "", REASON_MAX).strip()
        if not reason:
            raise StoreError("say why: an adjudication needs a reason")
        accepted = check_name("accepted source", accepted or ENTERED)
        disagreement = check_text("disagreement", disagreement or "", NAME_MAX)
        with self.db.write() as conn:
            pid = self._project_row(conn, project).id
            task_id, turned = self._pair_task(conn, pid, instruction, input, output1, output2)
            last = conn.execute(select(func.max(adjudications.c.id)).where(
                adjudications.c.project_id == pid, adjudications.c.protocol == "rankings",
                adjudications.c.task_id == task_id)).scalar()
            return conn.execute(insert(adjudications).values(
                project_id=pid, protocol="rankings", task_id=task_id, value=flip(label) if turned else label,
                accepted=accepted, disagreement=disagreement, reason=reason, adjudicator=adjudicator,
                created_at=utcnow(), revises=last)).inserted_primary_key[0]

    def _decisions(self, project: str, current: bool, data_only: bool = False) -> list:
        with self.db.read() as conn:
            pid = self._project_row(conn, project).id
            query = (select(adjudications, items.c.instruction, items.c.input, items.c.responses, items.c.position,
                            pair_tasks.c.index1, pair_tasks.c.index2)
                     .join(pair_tasks, pair_tasks.c.id == adjudications.c.task_id)
                     .join(items, items.c.id == pair_tasks.c.item_id)
                     .where(and_(adjudications.c.project_id == pid, adjudications.c.protocol == "rankings"))
                     .order_by(adjudications.c.id))
            if data_only:  # a gold item (a study's check) never counts as data
                query = query.where(~exists().where(gold.c.item_id == pair_tasks.c.item_id))
            return conn.execute(query.where(current_only()) if current else query).all()

    def adjudicated_rankings(self, project: str, data_only: bool = False) -> pd.DataFrame:
        """The current decision of each adjudicated pair as ranking feedback (output1 = the task's (a), so
        ``feedback`` is in stored terms), plus ``adjudicator, accepted, disagreement, reason, created_at,
        adjudication_id, task_id, item``; ``data_only``: without pairs on gold items (exports, training)."""
        rows = [{"instruction": r.instruction, "input": r.input, "output1": r.responses[r.index1],
                 "output2": r.responses[r.index2], "feedback": r.value, "adjudicator": r.adjudicator,
                 "accepted": r.accepted, "disagreement": r.disagreement, "reason": r.reason,
                 "created_at": r.created_at, "adjudication_id": r.id, "task_id": r.task_id, "item": r.position}
                for r in self._decisions(project, current=True, data_only=data_only)]
        columns = [*RANKING_FEEDBACK.columns, *DECIDED, "item"]
        return pd.DataFrame(rows, columns=columns).astype({c: object for c in RANKING_FEEDBACK.columns})

    def adjudication_trail(self, project: str) -> pd.DataFrame:
        """Every decision row, replaced ones too, in the audit trail's columns (``kind`` = ``adjudication``,
        ``annotator`` = the adjudicator, ``comment`` = the reason, ``flags`` = the source accepted)."""
        rows = self._decisions(project, current=False)
        latest = {r.task_id: r.id for r in rows}
        version: dict[int, int] = {}
        out = []
        for r in rows:
            version[r.task_id] = version.get(r.task_id, 0) + 1
            out.append({"annotation_id": r.id, "annotator": r.adjudicator, "protocol": r.protocol, "item": r.position,
                        "task_id": r.task_id, "value": r.value, "comment": r.reason, "flags": f"accepted:{r.accepted}",
                        "version": version[r.task_id], "revises": r.revises, "undone": False,
                        "current": latest[r.task_id] == r.id, "seconds": None, "created_at": r.created_at,
                        "kind": "adjudication"})
        return pd.DataFrame(out)

    def adjudicated_gold(self, project: str, actor: str) -> int:
        """Mark every adjudicated pair as a gold task whose expected answer is its current decision (the human
        studies' :meth:`set_gold`); returns how many. The decisions stay as they are."""
        decided = self.adjudicated_rankings(project)
        if not len(decided):
            raise StoreError("no adjudicated pair in this project yet: adjudicate on the Disagreements tab first")
        return self.set_gold(project, actor, [("rankings", int(t), v) for t, v in
                                              zip(decided["task_id"], decided["feedback"])])
