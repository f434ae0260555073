"""Pairs where two judgements disagree: ratings vs rankings, or human vs LLM, sorted by how much.

A *judgement* is a (protocol, source) — e.g. ``("ratings", "LLM")`` or ``("rankings", "all humans")``.
On every pair it gives a grade in [−1, 1]: +1 ``(a)``, 0 ``equal``, −1 ``(b)`` for a ranking (the mean
over pooled annotations), and the rating gap ``(rating1 − rating2) / 6`` for ratings. Its label is the
sign of the grade. Two judgements disagree on a pair when their labels differ; the size of the
disagreement is ``|grade_a − grade_b|`` (2 = opposite rankings, 1 = a decisive ranking against equal
ratings, …), so a 7-vs-1 rating contradicted by the ranking sorts above a 5-vs-4 one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sparse_feedback.analysis.bias import rating_pairs
from sparse_feedback.analysis.sources import (
    GRADE, Feedback, canonical_labels, pair_key, rating_lookup, response_key, source_rankings,
    source_ratings,
)
from sparse_feedback.protocols import FLIP

RATING_SPAN = 6.0  # largest rating gap on the 1-7 scale


def pair_universe(feedback: Feedback) -> pd.DataFrame:
    """Every distinct pair (first stored order) with its ``pair`` key and ``flipped`` flag.

    The ranked pairs; when there are no rankings, every pair of rated responses to one instruction.
    """
    rows = feedback.rankings
    if not len(rows):
        rows = rating_pairs(feedback.ratings)
    rows = rows[["instruction", "input", "output1", "output2"]]
    key, flipped = pair_key(rows)
    first = ~pd.Series(key).duplicated().to_numpy()
    return rows[first].assign(pair=key[first], flipped=flipped[first]).reset_index(drop=True)


def _label(grade: np.ndarray) -> np.ndarray:
    return np.where(grade > 0, "(a)", np.where(grade < 0, "(b)", "equal")).astype(object)


def grades(feedback: Feedback, protocol: str, source: str, pairs: pd.DataFrame) -> np.ndarray:
    """Grade of one judgement on each of ``pairs`` in their own order; NaN where it has none."""
    if protocol == "ratings":
        lookup = rating_lookup(source_ratings(feedback, source))
        r1 = lookup.reindex(response_key(pairs, "output1")).to_numpy(dtype=float)
        r2 = lookup.reindex(response_key(pairs, "output2")).to_numpy(dtype=float)
        return (r1 - r2) / RATING_SPAN
    rows = source_rankings(feedback, source)
    key, labels = canonical_labels(rows)
    canonical = pd.Series(pd.Series(labels, dtype=object).map(GRADE).to_numpy(float)).groupby(key).mean()
    grade = canonical.reindex(pairs["pair"].to_numpy()).to_numpy(dtype=float)
    return np.where(pairs["flipped"].to_numpy(), -grade, grade)


def disagreements(feedback: Feedback, a: tuple[str, str], b: tuple[str, str]) -> pd.DataFrame:
    """Pairs where judgement ``a`` and ``b`` give different labels, largest disagreement first."""
    pairs = pair_universe(feedback)
    ga, gb = grades(feedback, *a, pairs), grades(feedback, *b, pairs)
    both = ~(np.isnan(ga) | np.isnan(gb))
    out = pairs.assign(label_a=_label(ga), label_b=_label(gb), grade_a=ga, grade_b=gb,
                       score=np.abs(ga - gb))[both]
    out = out[out["label_a"] != out["label_b"]]
    return out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def order_disagreements(feedback: Feedback, llm: str) -> pd.DataFrame:
    """Pairs where the LLM ``llm`` picked different responses in the two orders it was asked (shown as
    (output1, output2), then swapped): ``label_a`` / ``label_b`` are each order's pick in the pair's terms."""
    rows = source_rankings(feedback, llm)
    pairs = pair_universe(feedback)
    if not len(rows) or "position_ab" not in rows:
        return pairs.iloc[:0].assign(label_a=[], label_b=[], grade_a=[], grade_b=[], score=[])
    key, flipped = pair_key(rows)
    first = pd.Series(rows["position_ab"].to_numpy(dtype=object)).map(lambda v: v if isinstance(v, str) else None)
    second = pd.Series(rows["position_ba"].to_numpy(dtype=object)).map(lambda v: FLIP.get(v) if isinstance(v, str)
                                                                      else None)
    lookup = pd.DataFrame({"first": first.to_numpy(), "second": second.to_numpy(), "flipped": flipped},
                          index=pd.Index(key)).loc[lambda f: ~f.index.duplicated()]
    found = lookup.reindex(pairs["pair"].to_numpy())
    turn = found["flipped"].to_numpy(dtype=object) != pairs["flipped"].to_numpy(dtype=object)
    own = {side: np.where(turn, found[side].map(lambda v: FLIP.get(v, v)).to_numpy(dtype=object),
                          found[side].to_numpy(dtype=object)) for side in ("first", "second")}
    ga = pd.Series(own["first"]).map(GRADE).to_numpy(float)
    gb = pd.Series(own["second"]).map(GRADE).to_numpy(float)
    both = ~(np.isnan(ga) | np.isnan(gb))
    out = pairs.assign(label_a=own["first"], label_b=own["second"], grade_a=ga, grade_b=gb,
                       score=np.abs(ga - gb))[both]
    out = out[out["label_a"] != out["label_b"]]
    return out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def pair_details(feedback: Feedback, instruction: str, input: str, output1: str, output2: str) -> dict:
    """Everything on one pair: its texts, every rating of either response, every ranking (in this order),
    both raw judge answers and the annotator ids."""
    pair = pd.DataFrame({"instruction": [instruction], "input": [input], "output1": [output1],
                         "output2": [output2]})
    r = feedback.ratings
    keys = response_key(r)
    ratings = []
    for side, col in (("output1", "output1"), ("output2", "output2")):
        hit = r[keys == response_key(pair, col)[0]]
        ratings.append(hit.assign(response=side)[["response", "judge", "annotator", "rating", "seconds"]])
    k = feedback.rankings
    key, flipped = pair_key(k)
    own_key, own_flipped = pair_key(pair)
    hit = k[key == own_key[0]]
    turn = flipped[key == own_key[0]] != own_flipped[0]
    rankings = hit.assign(feedback=np.where(turn, hit["feedback"].map(FLIP), hit["feedback"]),
                          stored_order=np.where(turn, "swapped", "same"))
    cols = ["judge", "annotator", "feedback", "raw_answer_ab", "raw_answer_ba", "stored_order", "seconds"]
    return {"instruction": instruction, "input": input, "output1": output1, "output2": output2,
            "ratings": pd.concat(ratings, ignore_index=True), "rankings": rankings[cols].reset_index(drop=True)}
