"""Queue strategies: which task an annotator should see next, and why, as pure functions over id frames.

Every strategy takes the project's tasks as frames of ids — pair tasks ``task_id, item, index1, index2`` and
rating tasks ``task_id, item, index`` (``item``: the instruction, ``index``: the response) — plus the signal it
reads, and returns an :data:`ORDER_COLUMNS` frame: one row per task, ``rank`` 0 first, a ``score`` (higher =
sooner) and a one-line ``reason`` the Admin tab shows. Ties keep the tasks' own order (their ids).

- ``random``: the queue as before (fewest answers first, then import order); scores are all 0.
- ``disagreement``: pairs whose LLM orders disagree (``|g_ab - g_ba|``, 2 for opposite picks) plus, where the
  LLM's ratings imply another label than its ranking, the gap ``|(r1 - r2) / 6 - g_rank|``; a rating task takes
  the largest ratings-vs-ranking contradiction among the pairs it is in.
- ``uncertainty``: pairs by smallest reward margin ``|s1 - s2|``; a rating task by the smallest variance of the
  reward over its instruction's responses (the RM cannot tell them apart).
- ``coverage``: instructions with the fewest human answers first, one task per instruction per round.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sparse_feedback.analysis.consistency import implied_preference
from sparse_feedback.protocols import DISAGREE, pair_feedback
from sparse_feedback.store.limits import STRATEGIES, check_strategy  # noqa: F401  (re-exported)

ORDER_COLUMNS = ["protocol", "task_id", "rank", "score", "reason"]
GRADE = {"(a)": 1.0, "(b)": -1.0, "equal": 0.0}
RATING_SPAN = 6.0  # the widest gap on the 1-7 scale


def ranked(protocol: str, tasks: pd.DataFrame, score, reason) -> pd.DataFrame:
    """Tasks sorted by ``score`` (highest first, ties by task id) as an :data:`ORDER_COLUMNS` frame.

    >>> ranked("ratings", pd.DataFrame({"task_id": [7, 8, 9]}), [0.1, 0.5, 0.1], ["x", "y", "z"])[
    ...     ["task_id", "rank", "reason"]].values.tolist()
    [[8, 0, 'y'], [7, 1, 'x'], [9, 2, 'z']]
    """
    out = pd.DataFrame({"protocol": protocol, "task_id": tasks["task_id"].to_numpy(dtype=np.int64),
                        "score": np.asarray(score, dtype=float), "reason": np.asarray(reason, dtype=object)})
    out = out.sort_values(["score", "task_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(len(out), dtype=np.int64)
    return out[ORDER_COLUMNS]


def random_order(protocol: str, tasks: pd.DataFrame) -> pd.DataFrame:
    """Today's queue: no preference among tasks (the queue's own fewest-answers-first rule decides)."""
    return ranked(protocol, tasks, np.zeros(len(tasks)), ["fewest answers first, then import order"] * len(tasks))


# ---------------------------------------------------------------- disagreement
def llm_pair_signals(pairs: pd.DataFrame, orders: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Per pair task: each order's label (``label_ab``, ``label_ba``, pair terms), the both-orders label and
    why (``feedback``, ``orders``), the two LLM ratings (NaN where missing) and the label they imply.

    ``orders``: ``task_id, reversed, value`` (llm_feedback rows of one model, values in pair terms);
    ``ratings``: ``item, index, rating``.
    """
    by_order = {rev: orders[orders["reversed"].astype(bool) == rev].drop_duplicates("task_id", keep="last")
                .set_index("task_id")["value"] for rev in (False, True)}
    out = pairs[["task_id", "item", "index1", "index2"]].reset_index(drop=True).copy()
    out["label_ab"] = by_order[False].reindex(out["task_id"]).to_numpy(dtype=object)
    out["label_ba"] = by_order[True].reindex(out["task_id"]).to_numpy(dtype=object)
    decided = [pair_feedback(a, b) for a, b in zip(out["label_ab"], out["label_ba"])]
    out["feedback"] = [d[0] for d in decided]
    out["orders"] = [d[1] for d in decided]
    lookup = ratings.drop_duplicates(["item", "index"], keep="last").set_index(["item", "index"])["rating"]
    for side, col in (("rating1", "index1"), ("rating2", "index2")):
        out[side] = lookup.reindex(pd.MultiIndex.from_arrays([out["item"], out[col]])).to_numpy(dtype=float)
    rated = out["rating1"].notna() & out["rating2"].notna()
    out["implied"] = None
    out.loc[rated, "implied"] = implied_preference(out.loc[rated, "rating1"], out.loc[rated, "rating2"])
    return out


def _grade(labels) -> np.ndarray:
    return pd.Series(labels, dtype=object).map(GRADE).to_numpy(dtype=float)


def contradictions(signals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's ``(orders gap, ratings-vs-ranking gap)``: ``|g_ab - g_ba|`` where both orders answered and
    disagree, ``|(r1 - r2)/6 - g_rank|`` where both responses are rated and the implied label is not the
    ranking's (0 elsewhere)."""
    orders_gap = np.where(signals["orders"].to_numpy() == DISAGREE,
                          np.abs(_grade(signals["label_ab"]) - _grade(signals["label_ba"])), 0.0)
    contradicted = signals["implied"].notna().to_numpy() & (signals["implied"] != signals["feedback"]).to_numpy()
    gap = np.abs((signals["rating1"] - signals["rating2"]).to_numpy(dtype=float) / RATING_SPAN
                 - _grade(signals["feedback"]))
    ratings_gap = np.where(contradicted & (signals["orders"] != "one order only").to_numpy(), gap, 0.0)
    return np.nan_to_num(orders_gap), np.nan_to_num(ratings_gap)


def _pair_reason(row) -> str:
    parts = []
    if row.orders_gap > 0:
        parts.append(f"LLM orders disagree ({row.label_ab} shown first, {row.label_ba} shown second)")
    if row.ratings_gap > 0:
        parts.append(f"LLM ratings {int(row.rating1)} vs {int(row.rating2)} imply {row.implied}, "
                     f"its ranking says {row.feedback}")
    return "; ".join(parts) or "the LLM's labels agree"


def disagreement_pairs(pairs: pd.DataFrame, orders: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Pair tasks, most contradictory LLM labels first (see the module's formula)."""
    signals = llm_pair_signals(pairs, orders, ratings)
    orders_gap, ratings_gap = contradictions(signals)
    signals = signals.assign(orders_gap=orders_gap, ratings_gap=ratings_gap)
    reasons = [_pair_reason(row) for row in signals.itertuples(index=False)]
    return ranked("rankings", signals, orders_gap + ratings_gap, reasons)


def disagreement_ratings(tasks: pd.DataFrame, pairs: pd.DataFrame, orders: pd.DataFrame,
                         ratings: pd.DataFrame) -> pd.DataFrame:
    """Rating tasks by the largest ratings-vs-ranking contradiction among the LLM-ranked pairs they are in."""
    signals = llm_pair_signals(pairs, orders, ratings)
    signals["ratings_gap"] = contradictions(signals)[1]
    sides = pd.concat([signals[["item", "index1", "ratings_gap"]].set_axis(["item", "index", "gap"], axis=1),
                       signals[["item", "index2", "ratings_gap"]].set_axis(["item", "index", "gap"], axis=1)])
    per = sides.groupby(["item", "index"]).agg(gap=("gap", "max"), count=("gap", lambda g: int((g > 0).sum())))
    where = pd.MultiIndex.from_arrays([tasks["item"], tasks["index"]])
    gap = per["gap"].reindex(where).fillna(0.0).to_numpy()
    count = per["count"].reindex(where).fillna(0).astype(int).to_numpy()
    reasons = [f"its LLM rating contradicts the LLM ranking in {n} pair(s), by up to {g:.2f}" if g > 0
               else "its LLM rating agrees with the LLM rankings" for g, n in zip(gap, count)]
    return ranked("ratings", tasks, gap, reasons)


# ---------------------------------------------------------------- uncertainty
def _reward_lookup(rewards: pd.DataFrame) -> pd.Series:
    return rewards.drop_duplicates(["item", "index"], keep="last").set_index(["item", "index"])["reward"]


def uncertainty_pairs(pairs: pd.DataFrame, rewards: pd.DataFrame, model: str) -> pd.DataFrame:
    """Pair tasks by smallest reward margin under ``model`` first; unscored pairs last.

    ``rewards``: ``item, index, reward`` (one score per response)."""
    lookup = _reward_lookup(rewards)
    s1, s2 = (lookup.reindex(pd.MultiIndex.from_arrays([pairs["item"], pairs[c]])).to_numpy(dtype=float)
              for c in ("index1", "index2"))
    margin = np.abs(s1 - s2)
    reasons = [f"margin {m:.3g} under RM {model}" if m == m else f"not scored by RM {model}" for m in margin]
    return ranked("rankings", pairs, np.where(np.isnan(margin), -np.inf, -margin), reasons)


def uncertainty_ratings(tasks: pd.DataFrame, rewards: pd.DataFrame, model: str) -> pd.DataFrame:
    """Rating tasks by the smallest variance of ``model``'s reward over their instruction's responses first."""
    variance = rewards.drop_duplicates(["item", "index"], keep="last").groupby("item")["reward"].var(ddof=0)
    sizes = rewards.drop_duplicates(["item", "index"]).groupby("item").size()
    var = variance.reindex(tasks["item"]).to_numpy(dtype=float)
    n = sizes.reindex(tasks["item"]).fillna(0).astype(int).to_numpy()
    reasons = [f"reward variance {v:.3g} over its instruction's {k} responses under RM {model}" if v == v
               else f"not scored by RM {model}" for v, k in zip(var, n)]
    return ranked("ratings", tasks, np.where(np.isnan(var), -np.inf, -var), reasons)


# ---------------------------------------------------------------- coverage
def coverage_order(protocol: str, tasks: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """Tasks of the instructions with the fewest human answers first, taking one task of each instruction per
    round (an instruction's second task comes after every equally covered instruction's first).

    ``answers``: ``item, answers`` (human answers per instruction, both protocols; missing = 0)."""
    count = answers.set_index("item")["answers"].reindex(tasks["item"]).fillna(0).to_numpy(dtype=float)
    tasks = tasks.reset_index(drop=True)
    round_ = tasks.sort_values("task_id", kind="stable").groupby("item").cumcount().reindex(tasks.index).to_numpy()
    # an instruction's human answers count as rounds it has already been served
    score = -(count + round_)
    reasons = [f"its instruction has {int(c)} human answer(s)" + (f"; round {r + 1} of its tasks" if r else "")
               for c, r in zip(count, round_)]
    return ranked(protocol, tasks, score, reasons)


def strategy_order(strategy: str, protocol: str, tasks: pd.DataFrame, *, pairs: pd.DataFrame | None = None,
                   orders: pd.DataFrame | None = None, ratings: pd.DataFrame | None = None,
                   rewards: pd.DataFrame | None = None, model: str = "", answers: pd.DataFrame | None = None
                   ) -> pd.DataFrame:
    """One strategy's order of ``protocol``'s ``tasks`` from the signals it reads (the others are ignored).

    A signal a strategy needs and does not have (no LLM labels, no RM scores) gives every task the same
    score and says so; the queue then behaves as ``random``."""
    check_strategy(strategy)
    empty = pd.DataFrame(columns=["task_id", "reversed", "value", "item", "index", "rating", "reward", "answers"])
    if strategy == "disagreement":
        orders = orders if orders is not None else empty[["task_id", "reversed", "value"]]
        ratings = ratings if ratings is not None else empty[["item", "index", "rating"]]
        if protocol == "rankings":
            return disagreement_pairs(tasks, orders, ratings)
        return disagreement_ratings(tasks, pairs if pairs is not None else tasks.iloc[:0].assign(index1=0, index2=0),
                                    orders, ratings)
    if strategy == "uncertainty":
        rewards = rewards if rewards is not None else empty[["item", "index", "reward"]]
        return (uncertainty_pairs if protocol == "rankings" else uncertainty_ratings)(tasks, rewards, model or "?")
    if strategy == "coverage":
        return coverage_order(protocol, tasks, answers if answers is not None else empty[["item", "answers"]])
    return random_order(protocol, tasks)
