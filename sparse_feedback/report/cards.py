"""The facts a feedback dataset's Hub card states, worked out from the exported frame (and, for the consistency
figure, the other protocol's feedback): source and judges, label counts, consistency with its Wilson interval."""

from __future__ import annotations

import pandas as pd

from sparse_feedback.analysis import consistency
from sparse_feedback.formats.cards import DatasetFacts
from sparse_feedback.formats.schema import LABELS, RATING_MAX, RATING_MIN
from sparse_feedback.reward.metrics import accuracy_interval


def infer_source(frame: pd.DataFrame) -> str:
    """``human`` (an ``annotator`` column), ``llm`` (a ``model`` or ``orders`` column), else ``unknown``.

    >>> infer_source(pd.DataFrame(columns=["instruction", "annotator"])), infer_source(pd.DataFrame())
    ('human', 'unknown')
    """
    if "annotator" in frame.columns:
        return "human"
    return "llm" if {"model", "orders"} & set(frame.columns) else "unknown"


def label_counts(frame: pd.DataFrame, protocol: str) -> dict:
    """Rows per label (rankings: (a), (b), equal) or per rating (1-7); TRL pairs count as ``pairs``.

    >>> label_counts(pd.DataFrame({"feedback": ["(a)", "equal", "(a)"]}), "rankings")
    {'(a)': 2, '(b)': 0, 'equal': 1}
    """
    if protocol == "rankings" and "feedback" in frame.columns:
        found = frame["feedback"].value_counts()
        return {label: int(found.get(label, 0)) for label in LABELS}
    if protocol == "ratings" and "rating" in frame.columns:
        found = frame["rating"].astype(int).value_counts()
        return {str(r): int(found.get(r, 0)) for r in range(RATING_MIN, RATING_MAX + 1)}
    return {"pairs": len(frame)} if "chosen" in frame.columns else {}


def consistency_figure(ratings: pd.DataFrame, rankings: pd.DataFrame, against: str) -> dict:
    """Consistency (percent) of the rated, ranked pairs, with its 95 % Wilson interval (percent)."""
    result = consistency(ratings, rankings)
    if not result.n_pairs:
        return {"percent": None, "n_pairs": 0, "low": None, "high": None, "against": against}
    low, high = accuracy_interval(result.consistency / 100, result.n_pairs)
    return {"percent": round(result.consistency, 2), "n_pairs": result.n_pairs, "low": round(100 * low, 2),
            "high": round(100 * high, 2), "against": against}


def dataset_facts(name: str, frame: pd.DataFrame, *, what: str, protocol: str, aggregation: str,
                  source: str | None = None, judged: pd.DataFrame | None = None, judge_prompt: str | None = None,
                  consistency_with: dict | None = None, license: str = "other",
                  judges: list | None = None) -> DatasetFacts:
    """The card facts of an export. ``judged``: the feedback the export was made from (default ``frame``), which
    tells the source and judges (unless ``judges`` names them); ``consistency_with``: the result of
    :func:`consistency_figure`, or None."""
    judged = frame if judged is None else judged
    source = source or infer_source(judged)
    if judges is None:
        judges = sorted(map(str, judged["model"].dropna().unique())) if "model" in judged.columns else []
    if source == "llm" and judge_prompt is None:
        from importlib import resources

        judge_prompt = resources.files("sparse_feedback.judge").joinpath("prompts", f"{protocol}.txt").read_text()
    return DatasetFacts(name=name, what=what, protocol=protocol, source=source, aggregation=aggregation,
                        rows=len(frame), counts=label_counts(frame, protocol), judges=judges,
                        judge_prompt=judge_prompt if source == "llm" else None, consistency=consistency_with,
                        license=license, columns=[str(c) for c in frame.columns])
