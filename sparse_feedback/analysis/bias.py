"""Length bias of each protocol and source, and position bias of the LLM's two-order pairwise answers.

Length is counted in words. A pair's length gap is ``words(output2) − words(output1)``; the
*longer-preferred share* is, among pairs of unequal length with a decisive preference, the percent
where the longer response won. Ratings are compared on every pair of rated responses to the same
instruction (the preference the two ratings imply); rankings on every ranked pair (pooled for all humans).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from sparse_feedback.analysis.consistency import implied_preference
from sparse_feedback.judge.parse import parse_position
from sparse_feedback.judge.results import position_bias as judge_position_bias
from sparse_feedback.analysis.sources import (
    Feedback, context_key, rating_lookup, response_key, source_rankings, source_ratings, words,
)

GAP_EDGES = (0, 1, 6, 21, 51, 101, np.inf)
GAP_BINS = ("0", "1-5", "6-20", "21-50", "51-100", ">100")  # absolute gap in words


def rating_pairs(ratings: pd.DataFrame) -> pd.DataFrame:
    """Every unordered pair of rated responses to the same (instruction, input), with ``preference``."""
    lookup = rating_lookup(ratings)
    first = ratings[~pd.Series(response_key(ratings)).duplicated().to_numpy()].reset_index(drop=True)
    first = first.assign(rating=lookup.reindex(response_key(first)).to_numpy(),
                         ctx=context_key(first),
                         row=np.arange(len(first)), _key=response_key(first), _words=words(first))
    cols = ["ctx", "row", "output", "rating", "_key", "_words"]  # the merge names them _key1, _words2, ...
    left = first[["instruction", "input", *cols]]
    pairs = left.merge(first[cols], on="ctx", suffixes=("1", "2"))
    pairs = pairs[pairs["row1"] < pairs["row2"]].reset_index(drop=True)
    pairs["preference"] = implied_preference(pairs["rating1"], pairs["rating2"])
    return pairs.drop(columns=["ctx", "row1", "row2"])


def length_outcomes(pairs: pd.DataFrame, preference: str = "preference") -> pd.DataFrame:
    """Per pair: absolute length gap, its bin, and whether the ``longer``/``shorter`` side won or ``equal``."""
    gap = words(pairs, "output2") - words(pairs, "output1")
    pref = pairs[preference].to_numpy(dtype=object)
    longer_won = np.where(gap > 0, pref == "(b)", pref == "(a)")
    outcome = np.where(pref == "equal", "equal", np.where(longer_won, "longer", "shorter"))
    outcome = np.where((gap == 0) & (pref != "equal"), "same length", outcome)
    bins = pd.cut(np.abs(gap), GAP_EDGES, right=False, labels=GAP_BINS)
    return pd.DataFrame({"gap": gap, "bin": bins, "outcome": outcome})


def length_bias(pairs: pd.DataFrame, preference: str = "preference") -> tuple[dict, pd.DataFrame]:
    """Summary (pairs, longer-preferred share, equal share) and the same per length-gap bin."""
    out = length_outcomes(pairs, preference)
    counts = pd.crosstab(out["bin"], out["outcome"]).reindex(
        index=list(GAP_BINS), columns=["longer", "shorter", "equal", "same length"], fill_value=0)
    decisive = counts["longer"] + counts["shorter"]
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        bins = pd.DataFrame({"gap_words": list(GAP_BINS), "pairs": total.to_numpy(),
                             "longer_preferred": (100 * counts["longer"] / decisive).to_numpy(),
                             "equal": (100 * counts["equal"] / total).to_numpy()})
    n_dec = int(decisive.sum())
    summary = {"pairs": int(total.sum()),
               "longer_preferred": 100 * float(counts["longer"].sum()) / n_dec if n_dec else float("nan"),
               "equal": 100 * float(counts["equal"].sum()) / total.sum() if total.sum() else float("nan")}
    return summary, bins


def length_bias_table(feedback: Feedback, sources) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Length bias for each protocol and source: (summary rows, per-bin rows), both with protocol and source."""
    summaries, all_bins = [], []
    for source in sources:
        for protocol in ("ratings", "rankings"):
            if protocol == "ratings":
                pairs, pref = rating_pairs(source_ratings(feedback, source)), "preference"
            else:
                pairs, pref = source_rankings(feedback, source), "feedback"
            if not len(pairs):
                continue
            summary, bins = length_bias(pairs, pref)
            summaries.append({"protocol": protocol, "source": source, **summary})
            all_bins.append(bins.assign(protocol=protocol, source=source))
    columns = ["protocol", "source", "pairs", "longer_preferred", "equal"]
    bins = pd.concat(all_bins, ignore_index=True) if all_bins else pd.DataFrame(
        columns=["gap_words", "pairs", "longer_preferred", "equal", "protocol", "source"])
    return pd.DataFrame(summaries, columns=columns), bins


# ---------------------------------------------------------------- position bias

OUTCOMES = ("both orders: output1", "both orders: output2", "order-dependent: first shown won",
            "order-dependent: second shown won", "unparsed")


@dataclass
class PositionBias:
    """Position bias of an LLM judge asked each pair in both orders (ab: output1 shown first; ba: output2)."""

    pairs: int  # pairs whose two raw answers both parsed
    order_dependent: float  # percent of those where the answer followed the position, not the response
    first_shown_won: float  # percent of order-dependent pairs where the first-shown response won both times
    first_choice: float  # percent of all parsed answers that picked the first-shown response
    counts: dict  # {outcome: pairs}

    def to_dict(self) -> dict:
        return asdict(self)


def _side(answer) -> str | None:
    return parse_position(answer) if isinstance(answer, str) else None


def _positions(rankings: pd.DataFrame, order: str) -> np.ndarray:
    """Shown position (``(a)`` = shown first) picked in one order: the ``position_<order>`` column where
    given, else the judge's own parse of the raw answer."""
    n = len(rankings)
    given = rankings.get(f"position_{order}", pd.Series([None] * n, dtype=object, index=rankings.index))
    raw = rankings.get(f"raw_answer_{order}", pd.Series([None] * n, dtype=object, index=rankings.index))
    both = pd.Series(given.to_numpy(dtype=object)).where(given.notna().to_numpy(), raw.to_numpy(dtype=object))
    codes, uniques = pd.factorize(both.to_numpy(dtype=object), use_na_sentinel=False)
    sides = np.array([_side(u) for u in uniques] + [None], dtype=object)  # each distinct answer once
    return sides[codes]


def position_bias(rankings: pd.DataFrame) -> PositionBias:
    """Position bias from each pair's two answers (``position_ab/ba`` or ``raw_answer_ab/ba``, as asked)."""
    ab, ba = _positions(rankings, "ab"), _positions(rankings, "ba")
    parsed = (ab != None) & (ba != None)  # noqa: E711 (elementwise)
    judged = judge_position_bias(list(zip(ab[parsed], ba[parsed])))  # the judge's own order-dependence count
    counts = {
        OUTCOMES[0]: int((parsed & (ab == "(a)") & (ba == "(b)")).sum()),
        OUTCOMES[1]: int((parsed & (ab == "(b)") & (ba == "(a)")).sum()),
        OUTCOMES[2]: judged.first_won,
        OUTCOMES[3]: judged.second_won,
        OUTCOMES[4]: int((~parsed).sum()),
    }
    n, dependent = judged.pairs, judged.disagree
    firsts = int((ab[parsed] == "(a)").sum() + (ba[parsed] == "(a)").sum())
    nan = float("nan")
    return PositionBias(n, 100 * dependent / n if n else nan,
                        100 * counts[OUTCOMES[2]] / dependent if dependent else nan,
                        100 * firsts / (2 * n) if n else nan, counts)
