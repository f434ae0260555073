"""The per-annotator quality table of a study, computed from every current answer (gold and excluded included).

Columns (one row per annotator):

- ``answers``, ``ratings``, ``rankings``: current answers (gold included); ``median_seconds``; ``fast``: answers
  faster than the project's threshold;
- ``gold_n``, ``gold_ratings_exact``, ``gold_ratings_within1``, ``gold_rankings_exact``, ``gold_accuracy``
  (ratings within one point, rankings exact, over all their gold answers);
- ``alpha_ratings`` / ``alpha_rankings``: Krippendorff's α (ordinal / nominal) of the *other* annotators on the
  regular tasks (leave-one-out), and ``alpha_*_delta`` = α of everyone minus that: positive when the annotator
  raises agreement;
- ``kappa_ratings`` / ``kappa_rankings``: mean Cohen's κ with each annotator they share >= 20 tasks with
  (``kappa_partners`` how many), the pairs themselves in :func:`pairwise`;
- ``llm_ratings_within1``, ``llm_rankings_agree``: agreement with the LLM judge (rankings: its both-orders label);
- ``left_share``: of their decisive ranking answers (not equal), the share choosing the left side;
- ``longest_run``: the longest run of one rating, in the order given;
- ``consistency``, ``consistency_n``, ``consistency_low``, ``consistency_high``: their own protocol consistency,
  percent of pairs they ranked and whose two responses they rated where the rating-implied preference equals
  their ranking, with a 95 % Wilson interval;
- ``flags``: why an annotator looks unreliable (see :data:`THRESHOLDS`); ``excluded``.

Besides the table: time on task per item (:func:`item_times`) and each answer under the fast threshold, one by one
(:func:`fast_answers`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from sparse_feedback.analysis.agreement import cohen_kappa, krippendorff_alpha
from sparse_feedback.analysis.consistency import implied_preference
from sparse_feedback.protocols import pair_feedback
from sparse_feedback.store.annotate import stored_to_shown
from sparse_feedback.study.gold import gold_answers

KAPPA_MIN_SHARED = 20  # pairwise κ only for annotators sharing at least this many tasks
THRESHOLDS = dict(gold_accuracy=0.6, gold_min=3, longest_run=10, left_p=0.001, left_min=10, fast_share=0.5)
COLUMNS = ["annotator", "answers", "ratings", "rankings", "median_seconds", "fast", "gold_n", "gold_ratings_exact",
           "gold_ratings_within1", "gold_rankings_exact", "gold_accuracy", "alpha_ratings", "alpha_ratings_delta",
           "alpha_rankings", "alpha_rankings_delta", "kappa_ratings", "kappa_rankings", "kappa_partners",
           "llm_ratings_within1", "llm_rankings_agree", "left_share", "longest_run", "consistency", "consistency_n",
           "consistency_low", "consistency_high", "flags", "excluded"]
FAST_COLUMNS = ["annotation_id", "annotator", "protocol", "task_id", "item_id", "response_index", "index1", "index2",
                "seconds", "created_at", "gold", "excluded"]
RANKING_CODES = {"(a)": 0.0, "(b)": 1.0, "equal": 2.0}


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion, in percent.

    >>> [round(x, 1) for x in wilson(8, 10)]
    [49.0, 94.3]
    """
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * (centre - half), 100 * (centre + half)


def longest_run(values) -> int:
    """The longest run of one value.

    >>> longest_run([3, 4, 4, 4, 2, 4]), longest_run([])
    (3, 0)
    """
    best = run = 0
    previous = object()
    for v in values:
        run = run + 1 if v == previous else 1
        best, previous = max(best, run), v
    return best


def task_matrix(answers: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """Regular tasks × annotators of one protocol's answers as numbers (ratings 1-7; rankings (a)=0, (b)=1,
    equal=2), NaN where unanswered. Gold tasks are left out: they measure accuracy, not agreement."""
    rows = answers[(answers["protocol"] == protocol) & answers["gold"].isna()]
    values = rows["value"].astype(float) if protocol == "ratings" else rows["value"].map(RANKING_CODES)
    return (rows.assign(number=values.to_numpy())
            .pivot_table(index="task_id", columns="annotator", values="number", aggfunc="first"))


def _alpha(matrix: pd.DataFrame, level: str) -> float:
    return krippendorff_alpha(matrix.to_numpy(), level) if matrix.shape[1] >= 2 else float("nan")


def leave_one_out(matrix: pd.DataFrame, level: str) -> tuple[dict, dict]:
    """Per annotator: α of the others, and α of everyone minus that."""
    everyone = _alpha(matrix, level)
    others = {a: _alpha(matrix.drop(columns=[a]), level) for a in matrix.columns}
    return others, {a: everyone - v for a, v in others.items()}


def pairwise(answers: pd.DataFrame, min_shared: int = KAPPA_MIN_SHARED) -> pd.DataFrame:
    """Cohen's κ of every two annotators sharing at least ``min_shared`` regular tasks of a protocol."""
    rows = []
    for protocol in ("ratings", "rankings"):
        matrix = task_matrix(answers, protocol)
        for a, b in itertools.combinations(matrix.columns, 2):
            both = matrix[[a, b]].dropna()
            if len(both) >= min_shared:
                rows.append(dict(protocol=protocol, annotator_a=a, annotator_b=b, shared=len(both),
                                 kappa=cohen_kappa(both[a].to_numpy(), both[b].to_numpy())))
    return pd.DataFrame(rows, columns=["protocol", "annotator_a", "annotator_b", "shared", "kappa"])


def _mean_kappa(pairs: pd.DataFrame, protocol: str) -> tuple[dict, dict]:
    cut = pairs[pairs["protocol"] == protocol]
    both = pd.concat([cut.rename(columns={"annotator_a": "who"}), cut.rename(columns={"annotator_b": "who"})])
    grouped = both.groupby("who")["kappa"]
    return grouped.mean().to_dict(), grouped.size().to_dict()


def llm_labels(llm: pd.DataFrame) -> tuple[dict, dict, str | None]:
    """The judge's rating per task and both-orders label per pair (the model with the most answers)."""
    if llm.empty:
        return {}, {}, None
    model = llm["source_model"].value_counts().sort_index().idxmax()
    own = llm[llm["source_model"] == model]
    rated = own.loc[own["protocol"] == "ratings", ["task_id", "value"]]
    ratings = {t: int(v) for t, v in rated.itertuples(index=False)}
    pairs = {}
    for task_id, rows in own[own["protocol"] == "rankings"].groupby("task_id"):
        by_order = dict(zip(rows["reversed"].astype(bool), rows["value"]))
        pairs[task_id] = pair_feedback(by_order.get(False), by_order.get(True))[0]
    return ratings, pairs, model


def own_consistency(answers: pd.DataFrame) -> pd.DataFrame:
    """Per annotator: the pairs they ranked whose two responses they rated, and how many of their rankings equal
    the preference their ratings imply. Regular tasks only."""
    regular = answers[answers["gold"].isna()]
    rated = regular[regular["protocol"] == "ratings"]
    rating = {(w, i, int(r)): int(v) for w, i, r, v in
              rated[["annotator", "item_id", "response_index", "value"]].itertuples(index=False)}
    rows = []
    ranked = regular[regular["protocol"] == "rankings"]
    columns = ["annotator", "item_id", "index1", "index2", "value"]
    for who, item, i1, i2, label in ranked[columns].itertuples(index=False):
        r1, r2 = rating.get((who, item, int(i1))), rating.get((who, item, int(i2)))
        if r1 is not None and r2 is not None:
            rows.append((who, implied_preference([r1], [r2])[0] == label))
    frame = pd.DataFrame(rows, columns=["annotator", "consistent"])
    return frame.groupby("annotator")["consistent"].agg(["sum", "size"]).rename(columns={"sum": "k", "size": "n"})


def shown_left(rows: pd.DataFrame) -> pd.Series:
    """Whether each ranking answer picked the response shown on the left (equal: NaN)."""
    shown = [stored_to_shown(v, bool(s)) for v, s in zip(rows["value"], rows["swapped"])]
    return pd.Series([{"left": 1.0, "right": 0.0}.get(x, np.nan) for x in shown], index=rows.index)


@dataclass
class QualityTable:
    table: pd.DataFrame  # one row per annotator, :data:`COLUMNS`
    pairs: pd.DataFrame  # pairwise κ
    items: pd.DataFrame  # time on task per item
    annotators: int  # how many annotators the agreement figures use
    judge: str | None  # the LLM the judge columns compare with
    fast: pd.DataFrame  # each answer under the fast threshold, newest first (:data:`FAST_COLUMNS`)

    def to_dict(self) -> dict:
        clean = lambda f: json_ready(f.to_dict(orient="records"))  # noqa: E731
        return dict(annotators=self.annotators, judge=self.judge, table=clean(self.table), pairs=clean(self.pairs),
                    items=clean(self.items), fast_answers=clean(self.fast), thresholds=THRESHOLDS)


def json_ready(value):
    """NaN as None, numpy scalars as Python ones (for ``--json``)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def item_times(answers: pd.DataFrame, fast_seconds: float = 0.0) -> pd.DataFrame:
    """Time on task per item and protocol: answers, median seconds, answers faster than ``fast_seconds``."""
    grouped = answers.assign(is_fast=answers["seconds"] < fast_seconds).groupby(["item_id", "protocol"])
    out = grouped.agg(answers=("seconds", "size"), median_seconds=("seconds", "median"), fast=("is_fast", "sum"))
    return out.reset_index()


def fast_answers(answers: pd.DataFrame, fast_seconds: float = 0.0) -> pd.DataFrame:
    """Each current answer faster than ``fast_seconds`` (none when 0), newest first: who, which task (its item, the
    response rated or the pair ranked), the seconds measured on the server, when, whether on a gold task and whether
    its annotator is excluded."""
    fast = answers[answers["seconds"] < fast_seconds] if fast_seconds > 0 else answers.iloc[:0]
    fast = fast.assign(gold=fast["gold"].notna()).sort_values(["created_at", "annotation_id"], ascending=False)
    return fast[FAST_COLUMNS].reset_index(drop=True)


def quality_table(answers: pd.DataFrame, llm: pd.DataFrame | None = None, fast_seconds: float = 0.0) -> QualityTable:
    """The table from ``store.study_answers`` and ``store.llm_values`` frames (see the module docstring)."""
    llm = llm if llm is not None else pd.DataFrame(columns=["protocol", "task_id", "source_model", "reversed", "value"])
    names = sorted(answers["annotator"].unique())
    t = pd.DataFrame(index=pd.Index(names, name="annotator"))
    by = answers.groupby("annotator")
    t["answers"] = by.size()
    for protocol in ("ratings", "rankings"):
        t[protocol] = answers[answers["protocol"] == protocol].groupby("annotator").size()
    t["median_seconds"] = by["seconds"].median()
    t["fast"] = (answers["seconds"] < fast_seconds).groupby(answers["annotator"]).sum()

    on_gold = gold_answers(answers)
    g = on_gold.groupby("annotator")
    t["gold_n"] = g.size()
    rated, ranked = on_gold[on_gold["protocol"] == "ratings"], on_gold[on_gold["protocol"] == "rankings"]
    t["gold_ratings_exact"] = rated.groupby("annotator")["exact"].mean()
    t["gold_ratings_within1"] = rated.groupby("annotator")["within1"].mean()
    t["gold_rankings_exact"] = ranked.groupby("annotator")["exact"].mean()
    t["gold_accuracy"] = g["within1"].mean()

    for protocol, level in (("ratings", "ordinal"), ("rankings", "nominal")):
        others, delta = leave_one_out(task_matrix(answers, protocol), level)
        t[f"alpha_{protocol}"], t[f"alpha_{protocol}_delta"] = pd.Series(others), pd.Series(delta)
    pairs = pairwise(answers)
    partners = pd.Series(0, index=t.index)
    for protocol in ("ratings", "rankings"):
        mean, count = _mean_kappa(pairs, protocol)
        t[f"kappa_{protocol}"] = pd.Series(mean)
        partners = partners.add(pd.Series(count), fill_value=0)
    t["kappa_partners"] = partners

    judge_ratings, judge_pairs, judge = llm_labels(llm)
    rows = answers[answers["gold"].isna()]
    rated = rows[rows["protocol"] == "ratings"]
    theirs = rated["task_id"].map(judge_ratings)
    close = ((rated["value"].astype(int) - theirs).abs() <= 1).where(theirs.notna())
    t["llm_ratings_within1"] = close.groupby(rated["annotator"]).mean()
    ranked = rows[rows["protocol"] == "rankings"]
    theirs = ranked["task_id"].map(judge_pairs)
    t["llm_rankings_agree"] = (ranked["value"] == theirs).where(theirs.notna()).astype(float).groupby(
        ranked["annotator"]).mean()

    all_ranked = answers[answers["protocol"] == "rankings"]
    t["left_share"] = shown_left(all_ranked).groupby(all_ranked["annotator"]).mean()
    ordered = answers[answers["protocol"] == "ratings"].sort_values("annotation_id")
    t["longest_run"] = ordered.groupby("annotator")["value"].agg(longest_run)

    own = own_consistency(answers)
    t["consistency_n"] = own["n"]
    t["consistency"] = 100 * own["k"] / own["n"]
    bounds = {w: wilson(int(r.k), int(r.n)) for w, r in own.iterrows()}
    t["consistency_low"] = pd.Series({w: b[0] for w, b in bounds.items()}, dtype=float)
    t["consistency_high"] = pd.Series({w: b[1] for w, b in bounds.items()}, dtype=float)

    counts = ["answers", "ratings", "rankings", "fast", "gold_n", "kappa_partners", "longest_run", "consistency_n"]
    t[counts] = t[counts].fillna(0).astype(int)
    decisive = shown_left(all_ranked).groupby(all_ranked["annotator"]).agg(["sum", "count"])
    t["flags"] = [", ".join(_flags(t.loc[a], decisive.loc[a] if a in decisive.index else None, fast_seconds))
                  for a in t.index]
    t["excluded"] = answers.groupby("annotator")["excluded"].first().astype(bool)
    table = t.reset_index()[COLUMNS]
    return QualityTable(table, pairs, item_times(answers, fast_seconds), len(names), judge,
                        fast_answers(answers, fast_seconds))


def _flags(row, decisive, fast_seconds: float) -> list[str]:
    out = []
    if row["gold_n"] >= THRESHOLDS["gold_min"] and row["gold_accuracy"] < THRESHOLDS["gold_accuracy"]:
        out.append(f"gold accuracy {row['gold_accuracy']:.0%}")
    if row["longest_run"] >= THRESHOLDS["longest_run"]:
        out.append(f"straight-lining ({row['longest_run']} equal ratings in a row)")
    if decisive is not None and decisive["count"] >= THRESHOLDS["left_min"]:
        if binomtest(int(decisive["sum"]), int(decisive["count"])).pvalue < THRESHOLDS["left_p"]:
            out.append(f"position bias ({row['left_share']:.0%} left)")
    if fast_seconds > 0 and row["answers"] and row["fast"] / row["answers"] > THRESHOLDS["fast_share"]:
        out.append(f"fast ({row['fast']} answers under {fast_seconds:g} s)")
    return out


def project_quality(store, project: str) -> QualityTable:
    """The quality table of a store project."""
    settings = store.study_settings(project)
    return quality_table(store.study_answers(project), store.llm_values(project), settings.fast_seconds)
