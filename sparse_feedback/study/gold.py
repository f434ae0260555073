"""Gold tasks: items with a known answer, mixed into every annotator's queue at the project's rate.

A gold task looks like any other; which of an annotator's tasks is gold is fixed per block of ``gold_every``
tasks by a hash of (project, annotator, protocol, block), so it is one in every ``gold_every`` yet not at a
position anyone can count on. Gold items never count as data (the store leaves them out of every export).
"""

from __future__ import annotations

import hashlib

import pandas as pd
from sqlalchemy import func, select

from sparse_feedback.errors import InputError
from sparse_feedback.formats import RANKING_FEEDBACK, RATING_FEEDBACK, normalize_label
from sparse_feedback.formats.readers import apply_kind, read_raw
from sparse_feedback.protocols import flip
from sparse_feedback.store.schema import assignments


def slot(project_id: int, annotator: str, protocol: str, block: int, every: int) -> int:
    """Which task (0 .. every-1) of this block of ``every`` tasks is the gold one.

    >>> [slot(1, "ann", "ratings", b, 10) for b in range(3)] == [slot(1, "ann", "ratings", b, 10) for b in range(3)]
    True
    >>> all(0 <= slot(1, "ann", "ratings", b, 10) < 10 for b in range(50))
    True
    """
    digest = hashlib.sha256(f"{project_id}\0{annotator}\0{protocol}\0{block}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % every


def due(conn, proj, annotator: str, protocol: str, every: int) -> bool:
    """Whether the annotator's next task of ``protocol`` is the gold one of its block (``every`` 0: never)."""
    if every <= 0:
        return False
    served = conn.execute(select(func.count()).select_from(assignments).where(
        assignments.c.project_id == proj.id, assignments.c.protocol == protocol,
        assignments.c.annotator == annotator)).scalar_one()
    return served % every == slot(proj.id, annotator, protocol, served // every, every)


def read_gold(path) -> tuple[str, pd.DataFrame]:
    """A gold file: rating feedback (``instruction, input, output, rating``) or ranking feedback
    (``instruction, input, output1, output2, feedback``), as the feedback formats read them."""
    raw = read_raw(path)
    columns = {str(c).strip().lower() for c in raw.frame.columns}
    kind = RANKING_FEEDBACK if "feedback" in columns and "rating" not in columns else RATING_FEEDBACK
    protocol = "ratings" if kind is RATING_FEEDBACK else "rankings"
    return protocol, apply_kind(raw, kind, dedupe=False)


def expected_answers(store, project: str, protocol: str, frame: pd.DataFrame, source: str = "gold file"):
    """``(protocol, task_id, expected)`` for each row, matched to the project's tasks by their texts; a row that
    matches no task is an error naming it (nothing is marked then)."""
    ratings, pairs = store.task_keys(project)
    out = []
    label_of = frame.attrs.get("label") or (lambda i: f"row {i + 1}")
    for n, rec in enumerate(frame.to_dict(orient="records")):
        where = label_of(n)
        if protocol == "ratings":
            tid = ratings.get((rec["instruction"], rec["input"], rec["output"]))
            if tid is None:
                raise InputError(source, f"no rating task of project {project!r} has this instruction, input and "
                                         "output", where=where, column="output")
            out.append(("ratings", tid, str(int(rec["rating"]))))
        else:
            hit = pairs.get((rec["instruction"], rec["input"], rec["output1"], rec["output2"]))
            label = normalize_label(rec["feedback"])
            if hit is None:
                raise InputError(source, f"no pair of project {project!r} has these two outputs", where=where,
                                 column="output2")
            if label is None:
                raise InputError(source, f"label {rec['feedback']!r} is not (a), (b) or equal", where=where,
                                 column="feedback")
            tid, rev = hit
            out.append(("rankings", tid, flip(label) if rev else label))
    return out


def import_gold(store, project: str, path, actor: str) -> tuple[str, int]:
    """Mark the tasks a gold file names as gold with its answers, all or nothing; returns (protocol, count)."""
    protocol, frame = read_gold(path)
    return protocol, store.set_gold(project, actor, expected_answers(store, project, protocol, frame, str(path)))


def gold_answers(answers: pd.DataFrame) -> pd.DataFrame:
    """The answers given on gold tasks, with ``exact`` and (ratings) ``within1`` against the expected answer."""
    on_gold = answers[answers["gold"].notna()].copy()
    on_gold["exact"] = on_gold["value"] == on_gold["gold"]
    rated = on_gold["protocol"] == "ratings"
    close = pd.Series(False, index=on_gold.index)
    if rated.any():
        close[rated] = (on_gold.loc[rated, "value"].astype(int) - on_gold.loc[rated, "gold"].astype(int)).abs() <= 1
    on_gold["within1"] = close.where(rated, on_gold["exact"])
    return on_gold
