"""The paired design: each annotator rates the responses and ranks the pairs of the same items.

Which protocol an annotator does first is drawn at random on their first task and recorded (``designs``); their
second protocol is then offered only on items whose first-protocol answers they gave: a pair to rank once they
rated both of its responses, a response to rate once they ranked a pair holding it.
"""

from __future__ import annotations

import random

from sqlalchemy import insert, select, text

from sparse_feedback.store.schema import designs, utcnow

# Conditions on ``t`` (the task table) for the annotator's second protocol.
_PAIR_RATED = ("(SELECT COUNT(*) FROM assignments a JOIN rating_tasks r ON r.id = a.task_id WHERE a.annotator = :who "
               "AND a.project_id = :pid AND a.protocol = 'ratings' AND a.status = 'done' AND r.item_id = t.item_id "
               "AND r.response_index IN (t.index1, t.index2)) = 2")
_RESPONSE_RANKED = ("EXISTS (SELECT 1 FROM assignments a JOIN pair_tasks p ON p.id = a.task_id "
                    "WHERE a.annotator = :who "
                    "AND a.project_id = :pid AND a.protocol = 'rankings' AND a.status = 'done' "
                    "AND p.item_id = t.item_id AND (p.index1 = t.response_index OR p.index2 = t.response_index))")


def first_protocol(conn, proj, annotator: str, draw=random.random) -> str:
    """The protocol this annotator does first on this project: drawn once, then as recorded."""
    first = conn.execute(select(designs.c.first).where(designs.c.project_id == proj.id,
                                                       designs.c.annotator == annotator)).scalar()
    if first is None:
        first = "ratings" if draw() < 0.5 else "rankings"
        conn.execute(insert(designs).values(project_id=proj.id, annotator=annotator, first=first, created_at=utcnow()))
    return first


def restriction(conn, proj, annotator: str, protocol: str) -> tuple[str, dict]:
    """The extra condition on this annotator's candidates for ``protocol``: none in their first protocol."""
    if first_protocol(conn, proj, annotator) == protocol:
        return "", {}
    return (_PAIR_RATED if protocol == "rankings" else _RESPONSE_RANKED), {}


def started_items(conn, proj, annotator: str, protocol: str, item_ids) -> set[int]:
    """Of ``item_ids``, those holding a task of ``protocol`` the annotator already had."""
    ids = sorted({int(i) for i in item_ids})
    if not ids:
        return set()
    table = "rating_tasks" if protocol == "ratings" else "pair_tasks"
    marks = ", ".join(f":i{n}" for n in range(len(ids)))
    rows = conn.execute(text(
        f"SELECT DISTINCT t.item_id FROM assignments a JOIN {table} t ON t.id = a.task_id WHERE a.annotator = :who "
        f"AND a.project_id = :pid AND a.protocol = :protocol AND t.item_id IN ({marks})"),
        dict(who=annotator, pid=proj.id, protocol=protocol, **{f"i{n}": i for n, i in enumerate(ids)})).scalars()
    return set(rows)


def design_frame(store, project: str):
    """Who does which protocol first on ``project``: ``annotator, first``."""
    import pandas as pd

    pid = store.project(project).id
    with store.db.read() as conn:
        rows = conn.execute(select(designs.c.annotator, designs.c.first).where(designs.c.project_id == pid)
                            .order_by(designs.c.annotator)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["annotator", "first"])
