"""The Admin tab's coverage line: how many tasks of each protocol have all the answers they need."""

from __future__ import annotations


def plural(n: int, word: str) -> str:
    """>>> plural(1, "answer"), plural(3, "answer"), plural(0, "task")
    ('1 answer', '3 answers', '0 tasks')
    """
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def coverage_line(coverage: dict[str, tuple[int, int]], overlap: int) -> str:
    """One markdown line for ``Store.coverage`` (per protocol: tasks with ``overlap`` answers, all tasks).

    >>> coverage_line({"ratings": (5, 30), "rankings": (1, 1)}, 1)
    'Each task needs 1 answer (overlap 1). ratings: **5 of 30 tasks** complete · rankings: **1 of 1 task** complete'
    >>> coverage_line({"ratings": (0, 2)}, 3)
    'Each task needs 3 answers, from different annotators (overlap 3). ratings: **0 of 2 tasks** complete'
    """
    needs = plural(overlap, "answer") + (", from different annotators" if overlap > 1 else "")
    parts = [f"{protocol}: **{full:,} of {plural(total, 'task')}** complete"
             for protocol, (full, total) in coverage.items()]
    return f"Each task needs {needs} (overlap {overlap}). " + " · ".join(parts)
