"""The Admin tab's queue strategy panel: choose a project's strategy, start its order's computation, and show the
next items of each queue with why each was chosen."""

from __future__ import annotations

import pandas as pd

from sparse_feedback.jobs import selection
from sparse_feedback.store.limits import STRATEGIES  # noqa: F401  (the page's choices)

DESCRIPTIONS = {
    "random": "fewest answers first, then import order (as before)",
    "disagreement": "pairs where the LLM's two orders disagree or its ratings contradict its ranking, most first",
    "uncertainty": "pairs with the smallest reward margin under the chosen RM; responses by their instruction's "
                   "reward variance",
    "coverage": "instructions with the fewest human answers first, one task of each per round",
}


def strategy_status(setting: dict) -> str:
    """One line on the stored order.

    >>> strategy_status({"strategy": "coverage", "computed_strategy": None, "stale": True, "message": "",
    ...                  "computed_at": None, "reward_model": ""})
    'Strategy **coverage**: its order is not computed yet (the queue serves the previous order meanwhile).'
    """
    head = f"Strategy **{setting['strategy']}**"
    if setting["strategy"] == "uncertainty" and setting["reward_model"]:
        head += f" (RM `{setting['reward_model']}`)"
    if setting["message"].startswith("failed"):
        return f"{head}: the last computation {setting['message']}"
    if setting["computed_strategy"] != setting["strategy"] or setting["computed_at"] is None:
        if setting["strategy"] == "random" and setting["computed_strategy"] is None:
            return f"{head}: {DESCRIPTIONS['random']}."
        return f"{head}: its order is not computed yet (the queue serves the previous order meanwhile)."
    when = f"{setting['computed_at']:%Y-%m-%d %H:%M} UTC"
    done = setting["message"].removeprefix(f"{setting['strategy']}: ")
    note = "; its inputs changed since (a new order is computed on the next change or save)" if setting["stale"] else ""
    return f"{head}: {done}, stored {when}{note}."


def next_items(store, project: str, n: int = 10) -> pd.DataFrame:
    """The next ``n`` items of each protocol's queue, in the order served, with why."""
    frames = [store.queue_preview(project, protocol, n).assign(protocol=protocol)
              for protocol in ("ratings", "rankings")]
    out = pd.concat(frames, ignore_index=True)
    return out[["protocol", "rank", "answers", "reason", "instruction", "response", "task"]]


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

