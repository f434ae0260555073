"""The one runner for background jobs (training, best-of-n, LLM judging): a job is a row in the store's
jobs table, and its work runs either in its own process (:func:`spawn`) or in the caller (:func:`in_process`).

Start-up marks jobs whose process is gone as ``interrupted`` (:func:`mark_interrupted`); :func:`stop` ends a
process (its work checkpoints or keeps what it finished) and :func:`reopen` lets a stopped, failed or
interrupted job run again on what it left (each job's own work skips what is done). Progress is
``progress.json`` in the job's directory (:func:`progress_writer`, :func:`status`), logs a file there;
:func:`ended` says why a process ended.
This module stays free of torch and pandas so the app imports it cheaply.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from sparse_feedback.progress import PROGRESS_FILE, progress_file
from sparse_feedback.progress import timing as progress_timing

RESUMABLE = ("interrupted", "stopped", "failed")


def spawn(store, job_id: int, argv: list[str], log_file, env: dict | None = None, log_path: str | None = None,
          on_exit: Callable[[int], tuple[str, str] | None] | None = None) -> subprocess.Popen:
    """Start ``argv`` for job ``job_id`` in its own session (so Stop can end its whole group), output appended
    to ``log_file``, and record its pid (and ``log_path``) on the job's row.

    ``on_exit(code)``: called by a reaper thread when the process ends (no zombie left); it returns the
    ``(status, message)`` to record, unless the row already says the job is no longer running or has been
    resumed under another process."""
    with open(log_file, "ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env={**os.environ, **(env or {})})
    store.attach_process(job_id, process.pid, log_path)  # the job's process, not the app, is what Stop ends
    if on_exit is not None:
        threading.Thread(target=_finish_when_done, args=(store, job_id, process, on_exit), daemon=True).start()
    return process


def _finish_when_done(store, job_id: int, process: subprocess.Popen, on_exit) -> None:
    code = process.wait()
    job = store.job(job_id)
    if job is None or job["status"] != "running" or job["pid"] != process.pid:
        return  # stopped meanwhile, or resumed under another process: that run is not this reaper's
    outcome = on_exit(code)
    if outcome:
        store.finish_job(job_id, *outcome, if_running=True, pid=process.pid)


def reap(pid: int | None) -> None:
    """Collect our own child if it has ended (a stopped or failed job), so it no longer counts as alive."""
    try:
        if pid:
            os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not ours (another app run started it), or already collected
        pass


def stop(store, job_id: int, message: str, group: bool = True) -> bool:
    """SIGTERM a running job's process (``group``: its whole process group) and record it ``stopped``;
    False when the process was already gone (the row is then left to the caller)."""
    pid = store.job(job_id)["pid"]
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGTERM)
    except ProcessLookupError:
        if not group:
            return False
    except (PermissionError, TypeError):
        pass
    store.finish_job(job_id, "stopped", message)
    return True


def stop_job(store, job_id: int, kind: str, noun: str, message: str) -> str:
    """Stop from the app or CLI: job ``job_id`` must be of ``kind`` (else a :class:`StoreError`); a job that is
    no longer running is only described. ``noun`` names the job in the answer ("import 3 stopped")."""
    from sparse_feedback.store import StoreError

    job = store.job(job_id)
    if job is None or job["kind"] != kind:
        raise StoreError(f"no {noun} {job_id}")
    if job["status"] != "running":
        return f"{noun} {job_id} is {job['status']}"
    stop(store, job_id, message)
    return f"{noun} {job_id} stopped"


def reopen(store, job_id: int, statuses: tuple[str, ...] = RESUMABLE) -> bool:
    """Mark an ended job running again (atomic, so two resumes cannot both win); reaps its old process."""
    job = store.job(job_id)
    reap(job["pid"] if job else None)
    return store.reopen_job(job_id, statuses)


def mark_interrupted(store) -> int:
    """At start-up: jobs recorded as running whose process is gone become ``interrupted``."""
    return store.mark_interrupted()


@contextmanager
def in_process(store, kind: str, args: dict, scrub: Callable[[str], str] = str):
    """Record a job done by the caller itself: ``done`` with the ``message`` it sets on the yielded dict, or
    ``failed`` with its ``error`` (default: the exception, passed through ``scrub``, e.g. to remove an API
    key), the exception re-raised."""
    job_id = store.start_job(kind, args)
    outcome = {"message": ""}
    try:
        yield outcome
    except Exception as err:
        store.finish_job(job_id, "failed", outcome.get("error") or scrub(f"{type(err).__name__}: {err}"))
        raise
    store.finish_job(job_id, "done", outcome["message"])


progress_writer = progress_file  # a callback (done, total, desc) writing the job's progress.json


def read_progress(directory) -> dict:
    """The job's last ``progress.json`` record, or {} (none yet, or caught mid-write: the next poll reads it)."""
    path = Path(directory or "") / PROGRESS_FILE
    try:
        return json.loads(path.read_text("utf-8")) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def where(progress: dict) -> str | None:
    """Where a job was, from its progress record: ``generate 3/8``.

    >>> where({"stage": "generate", "done": 3, "total": 8}), where({})
    ('generate 3/8', None)
    """
    if not progress.get("stage"):
        return None
    return f"{progress['stage']} {progress.get('done', 0)}/{progress.get('total', 0)}"


def ended(code: int, log_file, step: str | None = None) -> str:
    """Why a job's process ended, in one line (:func:`sparse_feedback.errors.exit_reason`): the signal or exit
    status, where it was (``step``), and the last error line of its log."""
    from sparse_feedback.errors import exit_reason

    try:
        with open(log_file, "rb") as log:
            log.seek(max(0, os.path.getsize(log_file) - 20000))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        text = ""
    return exit_reason(code, text, step)[:500]


def status(store, job_id: int, directory: Path | None = None) -> dict:
    """``{status, message, done, total, stage}`` for the live progress line."""
    from sparse_feedback.store import StoreError

    job = store.job(job_id)
    if job is None:
        raise StoreError(f"no job {job_id}")
    progress = read_progress(directory or job.get("log_path"))
    return {"status": job["status"], "message": job.get("message") or "", **progress}


def wait(store, job_id: int, timeout: float = 600, poll: float = 0.5) -> dict:
    """Block until the job is no longer running (for Python callers and tests); returns its last status."""
    deadline = time.monotonic() + timeout
    while (state := status(store, job_id))["status"] == "running":
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still running after {timeout:.0f} s: {describe_status(state)}")
        time.sleep(poll)
    return state


def describe_status(status: dict, now: float | None = None) -> str:
    """One line for the UI: the stage and its count, where a long item is (``detail``), and, while the job runs,
    its elapsed time and ETA.

    >>> describe_status({"status": "running", "stage": "generate", "done": 3, "total": 8})
    'running · generate: 3/8'
    >>> describe_status({"status": "running", "stage": "generate", "done": 0, "total": 8, "fraction": 0.5,
    ...                  "detail": "4 instructions x 8 samples: token 64/128", "started": 0, "start_done": 0,
    ...                  "updated": 30}, now=30)
    'running · generate: 0/8 · 4 instructions x 8 samples: token 64/128 · elapsed 0:30 · ETA 7:30'
    """
    line = status["status"]
    if status.get("stage"):
        line += f" · {status['stage']}: {status.get('done', 0)}/{status.get('total', 0)}"
        if status.get("detail"):
            line += f" · {status['detail']}"
        if status["status"] == "running" and (timing := progress_timing(status, now)):
            line += f" · {timing}"
    if status.get("message"):
        line += f" · {status['message']}"
    return line
