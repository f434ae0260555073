"""The rules of the two feedback protocols, in one place; every stage imports them from here.

- **flip**: a rankings label with the two responses swapped (``(a)`` ↔ ``(b)``, ``equal`` stays).
- **both orders**: an LLM judges a pair as (x, y) and as (y, x). The pair's feedback is ``(a)``/``(b)``
  when both orders prefer the same response, else ``equal``; ``orders`` says why (``agree``,
  ``disagree``, or ``one order only`` when the other order got no answer).
- **judged orders**: the inverse — the judge's one-row-per-pair output as one row per order asked.
- **majority**: several human annotations of one item give one label: the ranking label with the most
  votes (a tie for most = ``equal``), the median rating rounded half up (4 and 5 give 5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sparse_feedback.formats.schema import LABELS  # noqa: F401  (the labels, re-exported with their rules)

FLIP = {"(a)": "(b)", "(b)": "(a)", "equal": "equal"}
AGREE, DISAGREE, ONE_ORDER = "agree", "disagree", "one order only"
PAIR = ("instruction", "input", "output1", "output2")
# The judge's raw answer and the position it picked ("(a)" = shown first) in each order asked.
RAW_COLUMNS = ("raw_answer_ab", "raw_answer_ba", "position_ab", "position_ba")


def flip(label):
    """The same judgement with the two responses' order swapped.

    >>> [flip(v) for v in ["(a)", "(b)", "equal"]]
    ['(b)', '(a)', 'equal']
    """
    return FLIP.get(label, label)


def flip_where(labels, swapped) -> np.ndarray:
    """``labels`` with those where ``swapped`` is true flipped (vectorised :func:`flip`)."""
    labels = np.asarray(labels, dtype=object)
    return np.where(np.asarray(swapped, dtype=bool), pd.Series(labels, dtype=object).map(flip).to_numpy(), labels)


def pair_feedback(first, second) -> tuple[str, str]:
    """The pair's feedback and why, from the label of each order, both in the pair's own terms (None = no answer).

    >>> pair_feedback("(a)", "(a)"), pair_feedback("(a)", "(b)"), pair_feedback(None, "(b)")
    (('(a)', 'agree'), ('equal', 'disagree'), ('equal', 'one order only'))
    """
    if not isinstance(first, str) or not isinstance(second, str):
        return "equal", ONE_ORDER
    return (first, AGREE) if first == second else ("equal", DISAGREE)


def combine_positions(ab, ba) -> str | None:
    """The pair's feedback from the positions picked in each order: ``ab`` shown (response1, response2),
    ``ba`` the swap. None when an order has no answer (the judge then asks again).

    >>> combine_positions("(a)", "(b)"), combine_positions("(a)", "(a)"), combine_positions("(b)", None)
    ('(a)', 'equal', None)
    """
    if not ab or not ba:
        return None
    return pair_feedback(ab, flip(ba))[0]


def _last(raw):
    if isinstance(raw, (list, tuple, np.ndarray)):
        return str(raw[-1]) if len(raw) else None
    return raw if isinstance(raw, str) else None


def pairs_from_orders(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per pair from one-row-per-judged-order rankings (``reversed``: the row's ``output1``/``output2``
    are the pair asked as (output2, output1), ``feedback`` the position picked in that order).

    The pair keeps its not-reversed orientation; ``feedback`` follows :func:`pair_feedback`, ``orders``
    says why, and each order's raw answer and picked position are kept.

    >>> rows = pd.DataFrame({"instruction": ["i"] * 2, "input": [""] * 2, "output1": ["x", "y"],
    ...                      "output2": ["y", "x"], "feedback": ["(a)", "(b)"], "reversed": [False, True]})
    >>> pairs_from_orders(rows)[["output1", "output2", "feedback", "orders"]].values.tolist()
    [['x', 'y', '(a)', 'agree']]
    """
    columns = [*PAIR, "feedback", "orders", *RAW_COLUMNS]
    if rows.empty:
        return pd.DataFrame(columns=columns, dtype=object)
    rows = rows.reset_index(drop=True)
    rev = rows["reversed"].astype(bool).to_numpy() if "reversed" in rows else np.zeros(len(rows), bool)
    raw_col = next((c for c in ("raw_answers", "raw_answer") if c in rows), None)
    raw = rows[raw_col].map(_last) if raw_col else pd.Series([None] * len(rows), dtype=object)
    out = rows[list(PAIR)].astype(object).copy()
    out.loc[rev, ["output1", "output2"]] = rows.loc[rev, ["output2", "output1"]].to_numpy()
    out["position"], out["raw"] = rows["feedback"].to_numpy(dtype=object), raw.to_numpy(dtype=object)
    out["label"], out["order"] = flip_where(rows["feedback"], rev), np.where(rev, "ba", "ab")
    key = list(PAIR)
    ab, ba = (out[out["order"] == o].drop_duplicates(key).drop(columns="order") for o in ("ab", "ba"))
    both = ab.merge(ba, on=key, how="outer", suffixes=("_ab", "_ba"))
    decided = [pair_feedback(a, b) for a, b in zip(both["label_ab"], both["label_ba"])]
    both["feedback"] = [d[0] for d in decided]
    both["orders"] = [d[1] for d in decided]
    both = both.rename(columns={"raw_ab": "raw_answer_ab", "raw_ba": "raw_answer_ba"})
    return both[columns].reset_index(drop=True)


def orders_from_pairs(judged: pd.DataFrame) -> pd.DataFrame:
    """The judge's one-row-per-pair rankings (``position_ab``/``position_ba``) as one row per order that got
    an answer: the second order's row swaps the outputs and carries the position picked in that order.

    >>> judged = pd.DataFrame({"instruction": ["i"], "input": [""], "output1": ["x"], "output2": ["y"],
    ...                        "position_ab": ["(a)"], "position_ba": [None]})
    >>> orders_from_pairs(judged)[["output1", "output2", "feedback"]].values.tolist()
    [['x', 'y', '(a)']]
    """
    rows = []
    for rec in judged.to_dict(orient="records"):
        for first, second, order in ((rec["output1"], rec["output2"], "ab"), (rec["output2"], rec["output1"], "ba")):
            label = rec.get(f"position_{order}")
            if isinstance(label, str) and label:
                rows.append({"instruction": rec["instruction"], "input": rec["input"], "output1": first,
                             "output2": second, "feedback": label, "model": rec.get("model"),
                             "raw_answer": rec.get(f"raw_answer_{order}")})
    return pd.DataFrame(rows, columns=[*PAIR, "feedback", "model", "raw_answer"])


def orders_from_final(final: pd.DataFrame) -> pd.DataFrame:
    """One final label per pair (the canonical ranking feedback, no orders given) as the two orders that give
    it under :func:`pair_feedback`: the row itself and its swap with the label flipped.

    >>> final = pd.DataFrame({"instruction": ["i"], "input": [""], "output1": ["x"], "output2": ["y"],
    ...                       "feedback": ["(a)"]})
    >>> orders_from_final(final)[["output1", "output2", "feedback"]].values.tolist()
    [['x', 'y', '(a)'], ['y', 'x', '(b)']]
    """
    swap = final.rename(columns={"output1": "output2", "output2": "output1"})
    swap = swap.assign(feedback=swap["feedback"].map(flip))
    return pd.concat([final, swap[final.columns]], ignore_index=True)


def gives_orders(rankings: pd.DataFrame) -> bool:
    """Whether a rankings frame holds judged orders (raw answers, a ``reversed`` flag, or some pair in both
    orientations for most pairs) rather than one final label per pair. A few pairs listed twice in a file of
    final labels (the paper's sample has one) do not make it a file of orders."""
    if {"raw_answer", "raw_answers", "reversed"} & set(rankings.columns):
        return True
    forward = set(zip(rankings["instruction"], rankings["input"], rankings["output1"], rankings["output2"]))
    both = sum((i, x, b, a) in forward for i, x, a, b in forward)
    return both > 0 and both >= len(forward) / 2


def majority_label(labels) -> str:
    """The label with the most votes; ``equal`` when two labels tie for most.

    >>> majority_label(["(a)", "(a)", "equal"]), majority_label(["(a)", "(b)"])
    ('(a)', 'equal')
    """
    counts = pd.Series(list(labels), dtype=object).value_counts()
    top = counts[counts == counts.max()]
    return top.index[0] if len(top) == 1 else "equal"


def majority_labels(keys, labels) -> pd.Series:
    """:func:`majority_label` of each key's labels (all in one orientation), indexed by key (vectorised).

    >>> majority_labels([1, 1, 2, 2, 2], ["(a)", "(b)", "(b)", "(b)", "equal"]).to_dict()
    {1: 'equal', 2: '(b)'}
    """
    votes = pd.DataFrame({"key": np.asarray(keys), "label": np.asarray(labels, dtype=object)})
    counts = votes.groupby(["key", "label"], sort=False).size().unstack(fill_value=0)
    best = counts.to_numpy()
    winner = np.asarray(counts.columns, dtype=object)[best.argmax(axis=1)]
    tied = (best == best.max(axis=1, keepdims=True)).sum(axis=1) > 1
    return pd.Series(np.where(tied, "equal", winner), index=counts.index, dtype=object)


def majority_ratings(keys, ratings) -> pd.Series:
    """The median rating of each key, rounded half up, indexed by key.

    >>> majority_ratings(["x", "x", "y"], [4, 5, 2]).to_dict()
    {'x': 5, 'y': 2}
    """
    median = pd.Series(np.asarray(ratings, dtype=float)).groupby(np.asarray(keys), sort=False).median()
    return np.floor(median + 0.5).astype(np.int64)


def majority_rankings(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per pair (unordered, whatever the orientation of each annotation) with the majority label,
    oriented as the pair's first annotation; ``votes`` counts the annotations behind it."""
    if rows.empty:
        return rows.assign(votes=pd.Series(dtype=np.int64))
    rows = rows.reset_index(drop=True)
    o1, o2 = rows["output1"].to_numpy(dtype=object), rows["output2"].to_numpy(dtype=object)
    swapped = o1 > o2
    key = list(zip(rows["instruction"], rows["input"], np.where(swapped, o2, o1), np.where(swapped, o1, o2)))
    key = pd.Series(key, dtype=object).map(hash).to_numpy()
    winner = majority_labels(key, flip_where(rows["feedback"], swapped))
    first = ~pd.Series(key).duplicated().to_numpy()
    out = rows[first].reset_index(drop=True)
    out["feedback"] = flip_where(winner.reindex(key[first]).to_numpy(dtype=object), swapped[first])
    out["votes"] = pd.Series(key).value_counts().reindex(key[first]).to_numpy()
    return out


def majority_rating_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per response with the majority (median, half up) rating; ``votes`` counts the annotations."""
    if rows.empty:
        return rows.assign(votes=pd.Series(dtype=np.int64))
    rows = rows.reset_index(drop=True)
    key = pd.Series(list(zip(rows["instruction"], rows["input"], rows["output"])), dtype=object).map(hash).to_numpy()
    first = ~pd.Series(key).duplicated().to_numpy()
    out = rows[first].reset_index(drop=True)
    out["rating"] = majority_ratings(key, rows["rating"]).reindex(key[first]).to_numpy()
    out["votes"] = pd.Series(key).value_counts().reindex(key[first]).to_numpy()
    return out
