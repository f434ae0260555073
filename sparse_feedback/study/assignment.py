"""The one place that decides an annotator's next task.

Rules, in order:

1. a study participant whose quota is met gets nothing more;
2. the regular pool: tasks short of ``overlap`` answers, never one the annotator had (the store's unique
   constraint), gold items left out, and only those at the lowest level of active answers, so no task gets k+1
   answers before every task the annotator may take has k;
3. the paired design narrows the annotator's second protocol to the items they finished in the first
   (:mod:`sparse_feedback.study.paired`);
4. a gold task replaces the regular one at the project's gold rate (:mod:`sparse_feedback.study.gold`), but only
   while the regular queue is not empty (gold is mixed in, never a queue of its own);
5. the candidates left are ordered by ``order`` (a queue strategy: a function from a list of
   :class:`~sparse_feedback.store.annotate.Candidate` to the same list reordered; default by task id), and in the
   paired design an item the annotator started comes first, so both of its responses get rated by the same person.
"""

from __future__ import annotations

from typing import Callable, Sequence

from sparse_feedback.store.annotate import Candidate, Submission, Task, candidates
from sparse_feedback.store.studies import settings_row
from sparse_feedback.study import gold, paired

CANDIDATES = 64  # at most this many tasks of the lowest level are handed to an ordering
Order = Callable[[Sequence[Candidate]], Sequence[Candidate]]


def choose_task(store, conn, proj, annotator: str, protocol: str, order: Order | None = None) -> int | None:
    """The task id to assign next, inside the store's write transaction (``conn``); None: nothing to serve."""
    quota = store.participant_quota(conn, annotator)
    if quota is not None and store.answers_done(conn, proj.id, annotator) >= quota:
        return None
    settings = settings_row(conn, proj.id)
    where, params = paired.restriction(conn, proj, annotator, protocol) if settings.paired else ("", {})
    # the first candidate is the default choice; only an ordering or the paired design looks at more
    limit = CANDIDATES if order is not None or settings.paired else 1
    found = candidates(conn, proj, annotator, protocol, where, params, limit=limit)
    level = [c for c in found if c.active == found[0].active] if found else []
    if not level:
        return None
    if gold.due(conn, proj, annotator, protocol, settings.gold_every):
        check = candidates(conn, proj, annotator, protocol, pool="gold")
        if check:
            return check[0].task_id
    ranked = list(order(level)) if order is not None else level
    if settings.paired:
        started = paired.started_items(conn, proj, annotator, protocol, [c.item_id for c in ranked])
        ranked.sort(key=lambda c: c.item_id not in started)  # stable: the ordering holds within each group
    return ranked[0].task_id if ranked else None


def chooser(store, order: Order | None = None):
    """The ``choose`` argument the store's ``next_task`` / ``submit_and_next`` take."""
    return lambda conn, proj, annotator, protocol: choose_task(store, conn, proj, annotator, protocol, order)


def next_task(store, project: str, user: str, protocol: str, order: Order | None = None) -> Task | None:
    """The user's open task on ``project`` (resumed), else the one these rules choose; None when none is left."""
    return store.next_task(project, user, protocol, choose=chooser(store, order))


def submit_and_next(store, project: str, user: str, protocol: str, assignment_id: int, choice,
                    submit_id: str | None = None, comment: str = "", flags=(),
                    order: Order | None = None) -> tuple[Submission, Task | None]:
    """Store the answer and choose the next task by these rules, in one transaction."""
    return store.submit_and_next(project, user, protocol, assignment_id, choice, submit_id=submit_id,
                                 comment=comment, flags=flags, choose=chooser(store, order))
