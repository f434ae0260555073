"""Fully labelled sets for the budget simulation: any feedback file pair (its LLM labels as the oracle) and a
synthetic set with a known true preference."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sparse_feedback.protocols import flip, gives_orders, orders_from_final, pairs_from_orders
from sparse_feedback.study.simulate import LabelledSet


def _orders(rankings: pd.DataFrame) -> pd.DataFrame:
    """One row per pair (first orientation met) with each order's label in pair terms (``label_ab/_ba``)."""
    if not gives_orders(rankings):  # one final label per pair: the two orders that give it, the second reversed
        rankings = orders_from_final(rankings).assign(reversed=np.repeat([False, True], len(rankings)))
    judged = pairs_from_orders(rankings)
    return judged.assign(label_ab=judged["position_ab"], label_ba=judged["position_ba"].map(flip))


def from_feedback(name: str, ratings: pd.DataFrame, rankings: pd.DataFrame, features) -> LabelledSet:
    """The file's LLM labels are both the oracle (the labels a human would give) and the disagreement signal.

    ``features(instructions, inputs, responses) -> array``: called once, one row per distinct response."""
    pairs = _orders(rankings)
    context = pd.concat([pairs[["instruction", "input"]], ratings[["instruction", "input"]]]).drop_duplicates()
    item_of = {key: n for n, key in enumerate(context.itertuples(index=False, name=None))}
    responses: dict[tuple[int, str], int] = {}  # (item, text) -> the response's index within its item
    per_item: dict[int, int] = {}

    def index(frame, column):
        out = []
        for i, x, text in zip(frame["instruction"], frame["input"], frame[column]):
            item = item_of[(i, x)]
            if (item, text) not in responses:
                responses[(item, text)] = per_item[item] = per_item.get(item, -1) + 1
            out.append(responses[(item, text)])
        return out

    items = [item_of[k] for k in zip(pairs["instruction"], pairs["input"])]
    i1, i2 = index(pairs, "output1"), index(pairs, "output2")
    r_items = [item_of[k] for k in zip(ratings["instruction"], ratings["input"])]
    r_index = index(ratings, "output")
    table = pd.DataFrame({"task_id": np.arange(len(pairs)), "item": items, "index1": i1, "index2": i2,
                          "label": pairs["feedback"].to_numpy(dtype=object)})
    table["truth"] = table["label"]
    rated = pd.DataFrame({"item": r_items, "index": r_index, "rating": ratings["rating"].astype(int).to_numpy()})
    rated = rated.drop_duplicates(["item", "index"], keep="first")
    orders = pd.concat([pd.DataFrame({"task_id": table["task_id"], "reversed": rev, "value": pairs[col].to_numpy()})
                        for rev, col in ((False, "label_ab"), (True, "label_ba"))])
    orders = orders[orders["value"].map(lambda v: isinstance(v, str))]
    contexts = {n: key for key, n in item_of.items()}
    keys = list(responses)
    texts = [(contexts[item][0], contexts[item][1], text) for item, text in keys]
    matrix = np.asarray(features([t[0] for t in texts], [t[1] for t in texts], [t[2] for t in texts]))
    rows = {(item, responses[(item, text)]): n for n, (item, text) in enumerate(keys)}
    named = {(item, responses[(item, text)]): t for (item, text), t in zip(keys, texts)}
    return LabelledSet(name, table, rated, orders.reset_index(drop=True), rated, matrix, rows, named)


def synthetic_set(n_instructions: int = 150, n_responses: int = 5, dims: int = 16, seed: int = 0) -> LabelledSet:
    """Responses with features ``x ~ N(0, I)`` and a true quality ``q = x . w + e`` (``e`` unseen by the
    features). Accuracy is measured against the true preference ``sign(q1 - q2)``; the oracle (a human) ranks
    ``q1 - q2`` plus noise (``equal`` within 0.3) and rates ``4 + 1.3 q`` plus noise; the LLM reads the same with
    more noise and leans to the first position in each order."""
    rng = np.random.default_rng(seed)
    n = n_instructions * n_responses
    x = rng.normal(size=(n, dims))
    w = rng.normal(size=dims) / np.sqrt(dims)
    quality = x @ w + 0.5 * rng.normal(size=n)
    item, index = np.repeat(np.arange(n_instructions), n_responses), np.tile(np.arange(n_responses), n_instructions)
    i1, i2 = np.triu_indices(n_responses, 1)
    base = np.arange(n_instructions)[:, None] * n_responses
    a, b = (base + i1).ravel(), (base + i2).ravel()
    gap = quality[a] - quality[b]

    def label(g, tie):
        return np.where(g > tie, "(a)", np.where(g < -tie, "(b)", "equal")).astype(object)

    def rate(noise):
        return np.clip(np.round(4 + 1.3 * quality + rng.normal(0, noise, n)), 1, 7).astype(np.int64)

    pairs = pd.DataFrame({"task_id": np.arange(len(a)), "item": item[a], "index1": index[a], "index2": index[b],
                          "label": label(gap + rng.normal(0, 0.5, len(gap)), 0.3), "truth": label(gap, 0.0)})
    ratings = pd.DataFrame({"item": item, "index": index, "rating": rate(0.7)})
    llm_ratings = ratings.assign(rating=rate(1.0))
    better_first = gap + rng.normal(0, 0.8, len(gap)) > 0
    lazy = rng.random((2, len(gap))) < 0.25  # in each order, a quarter of answers fall back on the first shown
    ab = np.where(lazy[0] | better_first, "(a)", "(b)")
    ba = np.where(lazy[1], "(b)", np.where(better_first, "(a)", "(b)"))  # pair terms: first shown there is (b)
    orders = pd.concat([pd.DataFrame({"task_id": pairs["task_id"], "reversed": rev, "value": v.astype(object)})
                        for rev, v in ((False, ab), (True, ba))], ignore_index=True)
    rows = {(i, r): k for k, (i, r) in enumerate(zip(item, index))}
    return LabelledSet("synthetic", pairs, ratings, orders, llm_ratings, x, rows)
