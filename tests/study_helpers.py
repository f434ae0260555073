"""A synthetic human study: items whose responses have a planted true quality, and annotators of planted kinds
(good, random, straight-lining, left-biased) answering through the study's assignment rules."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pandas as pd

from sparse_feedback.study import assignment

KINDS = {"good1": "good", "good2": "good", "good3": "good", "rand": "random", "flat": "straight", "lefty": "left"}


def study_generation(n_items: int, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """(generation frame of two responses per item, true quality per (item position, response index))."""
    rng = random.Random(seed)
    rows, truth = [], {}
    for i in range(n_items):
        q = rng.sample(range(1, 8), 2)  # two different qualities: every pair has a better response
        truth[(i, 0)], truth[(i, 1)] = q
        rows.append((f"Synthetic question {i}?", "", [f"Response {j} to synthetic question {i}." for j in range(2)]))
    return pd.DataFrame(rows, columns=["instruction", "input", "responses"], dtype=object), truth


@dataclass
class Planted:
    """What each annotator answered, as the test gave it: task id -> stored value, per protocol."""

    given: dict = field(default_factory=dict)  # (annotator, protocol, task_id) -> stored value
    shown: dict = field(default_factory=dict)  # (annotator, task_id) -> 'left' / 'right' / 'equal'
    order: dict = field(default_factory=dict)  # annotator -> list of ratings in the order given


def _answer(kind: str, rng: random.Random, protocol: str, q, swapped: bool) -> str:
    """The choice (as shown) a planted annotator of ``kind`` makes; ``q``: true quality (rating) or the pair's."""
    if protocol == "ratings":
        if kind == "random":
            return str(rng.randint(1, 7))
        if kind == "straight":
            return "4"
        return str(min(7, max(1, q + rng.choice([-1, 0, 0, 0, 0, 1]))))
    if kind == "random":
        return rng.choice(["left", "right", "equal"])
    if kind == "left":
        return "left" if rng.random() < 0.95 else "right"
    if kind == "straight":
        return rng.choice(["left", "right"])
    better_a = q[0] > q[1]
    return "left" if better_a != swapped else "right"


def task_truth(store, project: str, truth: dict):
    """Maps task ids to true quality: rating task -> q, pair task -> (q of (a), q of (b))."""
    from sparse_feedback.store.schema import items, pair_tasks, rating_tasks

    with store.db.read() as conn:
        pos = dict(conn.execute(items.select().with_only_columns(items.c.id, items.c.position)).all())
        ratings = {t.id: truth[(pos[t.item_id], t.response_index)] for t in conn.execute(rating_tasks.select())}
        pairs = {t.id: (truth[(pos[t.item_id], t.index1)], truth[(pos[t.item_id], t.index2)])
                 for t in conn.execute(pair_tasks.select())}
    return ratings, pairs


def run_study(store, project: str, truth: dict, names=tuple(KINDS), seed: int = 1) -> Planted:
    """Every planted annotator works through both their queues (paired design: their first protocol first)."""
    state = random.getstate()
    random.seed(seed)  # the store's left/right draws and the paired design's order draws: one fixed study
    try:
        return _run(store, project, truth, names, random.Random(seed))
    finally:
        random.setstate(state)  # later tests draw as if this study had not run


def _run(store, project: str, truth: dict, names, rng: random.Random) -> Planted:
    from sparse_feedback.store.annotate import shown_to_stored

    ratings_q, pairs_q = task_truth(store, project, truth)
    planted = Planted()
    for who in names:
        kind = KINDS[who]
        for protocol in ("ratings", "rankings", "ratings", "rankings"):
            task = assignment.next_task(store, project, who, protocol)
            while task is not None:
                q = ratings_q[task.task_id] if protocol == "ratings" else pairs_q[task.task_id]
                choice = _answer(kind, rng, protocol, q, task.swapped)
                stored = choice if protocol == "ratings" else shown_to_stored(choice, task.swapped)
                planted.given[(who, protocol, task.task_id)] = stored
                if protocol == "ratings":
                    planted.order.setdefault(who, []).append(int(choice))
                else:
                    planted.shown[(who, task.task_id)] = choice
                _, task = assignment.submit_and_next(store, project, who, protocol, task.assignment_id, choice,
                                                     submit_id=task.submit_id)
    return planted
