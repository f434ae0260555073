"""The Admin tab's queue strategy panel: choose a project's strategy, start its order's computation, and show the
next items of each queue with why each was chosen."""

from __future__ import annotations

import pandas as pd

from sparse_feedback.jobs import selection
from sparse_feedback.jobs.selection import DESCRIPTIONS, next_items, strategy_status
from sparse_feedback.store.limits import STRATEGIES  # noqa: F401  (the page's choices)


def load(store, project: str) -> tuple[str, str, str, pd.DataFrame]:
    """(strategy, reward model, status line, next items) of a project."""
    setting = store.queue_strategy(project)
    return setting["strategy"], setting["reward_model"], strategy_status(setting), next_items(store, project)


def save(store, project: str, strategy: str, reward_model: str | None) -> str:
    """Store the choice and start the order's computation in the background; one line saying so."""
    store.set_queue_strategy(project, strategy, reward_model=(reward_model or "").strip() or None)
    job = selection.refresh(store, project)
    started = f"; its order is being computed (job {job})" if job is not None else ""
    return f"Queue strategy of **{project}**: **{strategy}** ({DESCRIPTIONS[strategy]}){started}."


def reward_model_choices() -> list[str]:
    """Finished reward models under the runs directory (the Train tab's), newest last."""
    from sparse_feedback.jobs.training import trained_models

    return trained_models()["model_dir"].tolist()

