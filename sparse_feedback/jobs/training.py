"""Training as a background job: a ``python -m sparse_feedback train`` subprocess on the job runner
(:mod:`sparse_feedback.jobs.runner`), recorded in the store's jobs table.

The job row keeps the pid and the output directory, so a reloaded page (or a restarted app) finds the
run again; its state is read back from the output directory (:mod:`sparse_feedback.reward.runs`).
Stop sends SIGTERM: the trainer finishes the step, checkpoints, and exits (``--resume`` continues).
This module stays free of torch so the app imports it cheaply.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sparse_feedback.jobs import runner
from sparse_feedback.reward.runs import (  # noqa: F401  the runs' reading, as the Train tab calls it
    LOG_FILE, MODEL_KIND, RESULTS_FILE, STDOUT_FILE, TRAINING_ENV, log_tail, new_run_dir, progress_lines, read_log,
    runs_dir, step_label, trained_models, training_command)

JOB_KIND = "train"


def check_device(options: dict) -> None:
    """Refuse, before anything is written or spawned, a device / precision this machine cannot train with
    (cuda, bf16 or 8-bit without a GPU): a :class:`~sparse_feedback.device.DeviceError` (a user error)."""
    from sparse_feedback.device import resolve_device

    dtype = "bfloat16" if options.get("bf16") else options.get("dtype") or "auto"
    resolve_device(options.get("device") or "auto", dtype, bool(options.get("load_in_8bit")))


def _outcome(output_dir: Path, store=None):
    """How a finished training process ended: done when it saved its results, else failed with the real reason
    (the signal or exit status, the step it reached, its last error line), never merely its last log line. A model
    saved: projects whose uncertainty queue reads it get their order recomputed (``store`` given)."""

    def outcome(code: int) -> tuple[str, str]:
        if code == 0 and (output_dir / RESULTS_FILE).exists():
            if store is not None:
                from sparse_feedback.jobs.selection import refresh_for_model

                refresh_for_model(store, output_dir)
            return "done", "model saved"
        return "failed", runner.ended(code, output_dir / STDOUT_FILE, reached(output_dir))

    return outcome


def reached(output_dir) -> str:
    """``step N/T``: the steps the run had done out of its total when it ended (see ``runs.step_label``)."""
    return step_label(output_dir) or "step 0"


def start_training(store, protocol: str, train_file, model: str = "smollm2-135m", output_dir=None,
                   project: str | None = None, source: str | None = None, aggregation: str | None = None,
                   **options) -> tuple[int, Path]:
    """Launch a training subprocess and record it as a ``train`` job; returns (job id, output directory)."""
    from sparse_feedback.formats import claim_dir

    check_device(options)
    output_dir = claim_dir(output_dir or new_run_dir(project or "file", source or "", protocol), MODEL_KIND)
    cmd = training_command(protocol, train_file, output_dir, model, **options)
    args = {"project": project, "source": source, "protocol": protocol, "model": model,
            "output_dir": str(output_dir), "train_file": str(train_file), "aggregation": aggregation, **options}
    job_id = store.start_job(JOB_KIND, args, log_path=str(output_dir / LOG_FILE))
    try:
        runner.spawn(store, job_id, cmd, output_dir / STDOUT_FILE, env={"PYTHONUNBUFFERED": "1", **TRAINING_ENV},
                     on_exit=_outcome(output_dir, store))
    except OSError as err:
        store.finish_job(job_id, "failed", f"could not start: {err}")
        raise
    return job_id, output_dir


def start_project_training(store, project: str, source: str, protocol: str, model: str = "smollm2-135m",
                           every_annotation: bool = False, **options) -> tuple[int, Path]:
    """Export a project's ``source`` (human / llm) feedback of ``protocol`` as the store aggregates it for
    training (:meth:`~sparse_feedback.store.Store.training_feedback`) and train on it in the background.
    The job's ``aggregation`` argument says how the table was made and how many rows it gave."""
    from sparse_feedback.formats import claim_dir, write_table

    check_device(options)
    feedback, aggregation = store.training_feedback(project, protocol, source, every_annotation=every_annotation)
    if feedback.empty:
        from sparse_feedback.store import StoreError

        raise StoreError(f"project {project!r} has no {source} {protocol} feedback yet")
    output_dir = claim_dir(new_run_dir(project, source, protocol), MODEL_KIND)
    train_file = write_table(feedback, output_dir / f"{protocol}_feedback.csv")
    return start_training(store, protocol, train_file, model, output_dir, project=project, source=source,
                          aggregation=aggregation, **options)


def stop_training(store, job_id: int) -> str:
    """Ask a running job to stop: it checkpoints after the current step and exits (``--resume`` continues)."""
    job = store.job(job_id)
    if job is None or job["status"] != "running":
        return "That job is not running."
    if not runner.stop(store, job_id, "stopped by request; the last checkpoint is kept", group=False):
        store.finish_job(job_id, "failed", "process was gone")
        return "The process had already ended."
    return "Stopping after the current step; the last checkpoint is kept."


def training_jobs(store) -> pd.DataFrame:
    """Training jobs, newest first, with the output directory unpacked from their arguments."""
    jobs = store.jobs(JOB_KIND)
    jobs["output_dir"] = [a.get("output_dir") if isinstance(a, dict) else None for a in jobs["args"]]
    return jobs


