"""The queue order as a job of the one runner (:mod:`.runner`): computed away from the submit path, stored.

:func:`compute_order` reads the project's tasks and signals from the store, scores every response with the
chosen reward model when the strategy is ``uncertainty``, and orders both protocols' tasks with
:func:`sparse_feedback.study.selection.strategy_order`. :func:`run_selection` does that as an in-process job and
stores the order (the tasks' priorities and reasons); :func:`start_selection` runs it in a process of its own
(``python -m sparse_feedback.jobs.selection PROJECT JOB``, at a lower CPU priority) so the app's annotators never
wait on it. :func:`refresh` starts one when a project's setting is saved or its RM retrained; any other change of
its inputs (LLM labels stored by any path, human answers under coverage) is noticed by the runner's watch
(:mod:`.watch`), which starts one. Requests coalesce: never two running for one project.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from sparse_feedback.jobs import runner
from sparse_feedback.jobs.watch import COVERAGE_AGE_S, COVERAGE_ANSWERS
from sparse_feedback.settings import home
from sparse_feedback.store import StoreError
from sparse_feedback.store.limits import check_strategy
from sparse_feedback.store.schema import utcnow

JOB_KIND = "queue order"
NICENESS = 10
READS = {"disagreement": "llm", "uncertainty": "rm", "coverage": "answers", "random": ""}  # what each reads


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
    note = "; its inputs changed since (the runner recomputes it in the background)" if setting["stale"] else ""
    return f"{head}: {done}, stored {when}{note}."


def next_items(store, project: str, n: int = 10) -> pd.DataFrame:
    """The next ``n`` items of each protocol's queue, in the order served, with why."""
    frames = [store.queue_preview(project, protocol, n).assign(protocol=protocol)
              for protocol in ("ratings", "rankings")]
    out = pd.concat(frames, ignore_index=True)
    return out[["protocol", "rank", "answers", "reason", "instruction", "response", "task"]]


def _llm_source(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Rows of one LLM source: the chosen one, else the first stored (one model's labels per order)."""
    if frame.empty:
        return frame
    source = source or str(frame["model"].iloc[0])
    return frame[frame["model"] == source]


def reward_scores(inputs: dict, model_dir: str, progress=None) -> pd.DataFrame:
    """``item, index, reward`` for every response of the project under the RM in ``model_dir``."""
    from sparse_feedback.reward.scoring import load_reward_model

    rows = [(r.item, k, r.instruction, r.input, text) for r in inputs["items"].itertuples(index=False)
            for k, text in enumerate(r.responses)]
    table = pd.DataFrame(rows, columns=["item", "index", "instruction", "input", "response"])
    model = load_reward_model(model_dir, device="auto")
    table["reward"] = model.score(table["instruction"], table["input"], table["response"], progress=progress)
    return table[["item", "index", "reward"]]


def compute_order(store, project: str, progress=None) -> tuple[pd.DataFrame, str, str]:
    """``(order of both protocols, strategy, summary line)`` for the project's current setting."""
    from sparse_feedback.study.selection import strategy_order

    setting = store.queue_strategy(project)
    strategy = check_strategy(setting["strategy"])
    inputs = store.selection_inputs(project)
    rewards, model = None, ""
    if strategy == "uncertainty":
        model = setting["reward_model"]
        if not model:
            raise StoreError("the uncertainty strategy needs a reward model: choose one")
        rewards = reward_scores(inputs, model, progress)
        model = Path(model).name
    orders = _llm_source(inputs["orders"], setting["llm_source"])
    llm_ratings = _llm_source(inputs["llm_ratings"], setting["llm_source"])
    signals = dict(pairs=inputs["pairs"], orders=orders, ratings=llm_ratings, rewards=rewards, model=model,
                   answers=inputs["answers"])
    order = pd.concat([strategy_order(strategy, "ratings", inputs["rating_tasks"], **signals),
                       strategy_order(strategy, "rankings", inputs["pairs"], **signals)], ignore_index=True)
    line = f"{strategy}: {len(order)} tasks ordered" + (f" under RM {model}" if model else "")
    return order, strategy, line


def compute_and_store(store, project: str, progress=None) -> str:
    """Compute the project's order and store it as of the moment its inputs were read (so labels stored meanwhile
    leave it stale for the runner); a failure is recorded on the setting and raised. Returns the summary line."""
    read_at = utcnow()
    try:
        order, strategy, line = compute_order(store, project, progress)
        store.write_queue_order(project, order, strategy, message=line, callback=progress, read_at=read_at)
    except Exception as err:
        store.record_queue_message(project, f"failed: {type(err).__name__}: {err}", read_at=read_at)
        raise
    return line


def run_selection(store, project: str, progress=None) -> str:
    """Compute and store the project's order as an in-process job (the CLI waits on it); its summary line."""
    with runner.in_process(store, JOB_KIND, {"project": project}) as outcome:
        outcome["message"] = compute_and_store(store, project, progress)
    return outcome["message"]


def jobs_root() -> Path:
    return home() / "queue_orders"


def start_selection(store, project: str, in_place: bool = False, answers: int = COVERAGE_ANSWERS,
                    age_s: float = COVERAGE_AGE_S) -> int | None:
    """Start the order's computation in its own process (``in_place``: here, waiting for it); returns the job id
    (its row says how it ended), or None when one for the project is already running or the order is no longer
    due (``answers``, ``age_s``: :meth:`~sparse_feedback.store.Store.due_queue_orders`): requests coalesce."""
    store.queue_strategy(project)  # refuses an unknown project before anything starts
    job_id = store.start_queue_job(project, JOB_KIND, answers, age_s)
    if job_id is None:
        return None
    if in_place:
        try:
            store.finish_job(job_id, "done", compute_and_store(store, project))
        except Exception as err:  # noqa: BLE001  (recorded on the job's row and the setting)
            store.finish_job(job_id, "failed", f"{type(err).__name__}: {err}")
        return job_id
    directory = jobs_root() / f"job-{job_id}"
    directory.mkdir(parents=True, exist_ok=True)

    def outcome(code: int):
        return ("done", "") if code == 0 else ("failed", f"the queue-order process ended with exit status {code}")

    runner.spawn(store, job_id, [sys.executable, "-m", "sparse_feedback.jobs.selection", project, str(job_id)],
                 directory / "log.txt", env={"SPARSE_FEEDBACK_DB": store.url}, log_path=str(directory),
                 on_exit=outcome)
    return job_id


def refresh(store, project: str, changed: str = "") -> int | None:
    """Start a recomputation if the project's strategy reads what ``changed`` (``llm``, ``rm``, ``answers``;
    '' = anything, e.g. a new setting); returns the job id, or None when nothing needed one or one is running
    (the runner recomputes after it if the inputs changed meanwhile)."""
    strategy = store.queue_strategy(project)["strategy"]
    if changed and READS[strategy] != changed:
        return None
    if strategy == "random" and store.queue_strategy(project)["computed_strategy"] in (None, "random"):
        return None  # nothing stored to undo: the priorities are all 0 already
    return start_selection(store, project)


def uncertainty_orders(store):
    """``(project, setting)`` of every project whose queue is ordered by a reward model."""
    for name, setting in store.queue_strategies("uncertainty").items():
        if setting["reward_model"]:
            yield name, setting


def refresh_for_model(store, model_dir) -> list[int]:
    """After an RM (re)trained into ``model_dir``: recompute every project whose uncertainty order reads it."""
    target = str(Path(model_dir).resolve())
    started = []
    for name, setting in uncertainty_orders(store):
        if str(Path(setting["reward_model"]).resolve()) == target:
            store.mark_queue_stale(name)  # should one be running already, the runner recomputes after it
            if (job := start_selection(store, name)) is not None:
                started.append(job)
    return started


def _main(project: str, job_id: str) -> int:
    """The job's process: compute and store, then record the outcome on the job's row."""
    from sparse_feedback.store import Store

    try:
        os.nice(NICENESS)
    except OSError:
        pass
    store = Store(os.environ.get("SPARSE_FEEDBACK_DB"))
    try:
        line = compute_and_store(store, project, runner.progress_writer(jobs_root() / f"job-{job_id}", "order"))
    except Exception as err:  # noqa: BLE001  (the row says why; the log has the traceback)
        store.finish_job(int(job_id), "failed", f"{type(err).__name__}: {err}", if_running=True)
        raise
    store.finish_job(int(job_id), "done", line, if_running=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(*sys.argv[1:3]))
