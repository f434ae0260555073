"""Exclude, never delete: an excluded annotator's answers stay stored (and in the audit trail) but leave exports,
training and dashboards until they are included again. Every change is a ``study_log`` row (who, when)."""

from __future__ import annotations

from sparse_feedback.study.quality import project_quality


def exclude(store, project: str, actor: str, annotators, reason: str = "") -> list[str]:
    """Exclude ``annotators``; returns those newly excluded."""
    return store.set_excluded(project, actor, annotators, True, reason)


def include(store, project: str, actor: str, annotators) -> list[str]:
    """Include ``annotators`` again; returns those that were excluded."""
    return store.set_excluded(project, actor, annotators, False)


def below_gold(table, threshold: float, min_gold: int = 1) -> list[str]:
    """Annotators (of a quality table) with at least ``min_gold`` gold answers and a gold accuracy below
    ``threshold`` (0-1)."""
    rows = table[(table["gold_n"] >= min_gold) & (table["gold_accuracy"] < threshold)]
    return sorted(rows["annotator"])


def exclude_below(store, project: str, actor: str, threshold: float, min_gold: int = 1) -> list[str]:
    """Exclude every annotator whose gold accuracy is below ``threshold``; returns those newly excluded."""
    if not 0 <= threshold <= 1:
        raise ValueError("the gold-accuracy threshold is a share from 0 to 1")
    names = below_gold(project_quality(store, project).table, threshold, min_gold)
    return exclude(store, project, actor, names, reason=f"gold accuracy below {threshold:.0%}") if names else []


def annotators_used(store, project: str) -> str:
    """One line for a figure built from human answers: how many annotators it uses and how many are excluded."""
    used = len(store.sources(project)["annotators"])
    out = len(store.excluded_annotators(project))
    return f"human answers of {used} annotator{'s' * (used != 1)}" + (f" ({out} excluded)" if out else "")
