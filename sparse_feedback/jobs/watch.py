"""The one runner's watch between jobs: it looks at the store every few seconds and starts a ``queue order`` job
(:mod:`.selection`) for each project whose stored order is out of date, so nothing that changes an order's inputs
has to start one itself, and no submit pays for it.

Out of date (:meth:`~sparse_feedback.store.Store.due_queue_orders`): the setting or its inputs changed after the
order's inputs were read (LLM labels stored by any path: the store marks the order stale where it writes them), or,
for ``uncertainty``, its reward model was saved again after that (:func:`models_changed`: a run of the app's Train
tab or of the ``train`` command, the results file newer than the order); for ``coverage``, human answers (:data:`COVERAGE_ANSWERS` at least) arrived since it was computed and that was
:data:`COVERAGE_AGE_S` seconds ago or more: under a stream of answers it is recomputed every 30 s or so, and
lags them by that plus one computation (about 3 s for 37,500 tasks). A project whose job is still running gets no second one (the store's
:meth:`~sparse_feedback.store.Store.start_job_unless_running`): any number of imports between two looks, or during
a computation, cost one job more at most.

The app runs a :class:`Watch` in a thread (its jobs in processes of their own, at a lower CPU priority);
``python -m sparse_feedback runner`` runs one without the app. Free of pandas and torch, like :mod:`.runner`.
"""

from __future__ import annotations

import logging
import threading
from datetime import timezone
from pathlib import Path

INTERVAL_S = 5.0  # seconds between two looks: one short read of the queue settings
COVERAGE_ANSWERS = 1  # human answers since a coverage order was computed that make it due ...
COVERAGE_AGE_S = 30.0  # ... once it is this old: at most one recomputation per project every 30 s

log = logging.getLogger(__name__)


def models_changed(store) -> list[str]:
    """Mark stale every uncertainty order whose reward model saved its results after the order's inputs were read
    (however it was trained); the projects marked. A model that is not a local folder (a Hub id) is not watched."""
    from sparse_feedback.jobs.selection import uncertainty_orders
    from sparse_feedback.reward.runs import RESULTS_FILE

    marked = []
    for name, setting in uncertainty_orders(store):
        if setting["stale"]:
            continue
        try:
            saved = (Path(setting["reward_model"]) / RESULTS_FILE).stat().st_mtime
        except OSError:
            continue
        read_at = setting["computed_at"]
        if read_at is None or saved > read_at.replace(tzinfo=timezone.utc).timestamp():
            store.mark_queue_stale(name)
            marked.append(name)
    return marked


def sweep(store, answers: int = COVERAGE_ANSWERS, age_s: float = COVERAGE_AGE_S, in_place: bool = False) -> list[int]:
    """One look: start a queue-order job for every project whose order is due; the ids of the jobs started
    (``in_place``: computed here, one after another, before this returns)."""
    from sparse_feedback.jobs.selection import start_selection

    models_changed(store)
    started = []
    for project in store.due_queue_orders(answers, age_s):
        job = start_selection(store, project, in_place=in_place, answers=answers, age_s=age_s)
        if job is not None:
            started.append(job)
    return started


class Watch:
    """:func:`sweep` every ``interval`` seconds in a daemon thread, from :meth:`start` until :meth:`stop`; a look
    that fails is logged and the next one tried (the store may be busy or briefly unreachable)."""

    def __init__(self, store, interval: float = INTERVAL_S, on_start=None, **sweep_args):
        self.store, self.interval, self.sweep_args = store, interval, sweep_args
        self.on_start = on_start  # called with the ids each look started (the CLI prints them)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Look now, then every ``interval`` seconds until stopped (in the caller's thread)."""
        while True:
            try:
                started = sweep(self.store, **self.sweep_args)
                if started and self.on_start is not None:
                    self.on_start(started)
            except Exception:  # the next look tries again
                log.exception("the runner's look for out-of-date queue orders failed")
            if self._stop.wait(self.interval):
                return

    def start(self) -> Watch:
        self._thread = threading.Thread(target=self.run, name="sparse-feedback-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
