"""The one runner for background jobs (training, best-of-n, LLM judging): a job is a row in the store's
jobs table, and its work runs either in its own process (:func:`spawn`) or in the caller (:func:`in_process`).

Start-up marks jobs whose process is gone as ``interrupted`` (:func:`mark_interrupted`); :func:`stop` ends a
process (its work checkpoints or keeps what it finished) and :func:`reopen` lets a stopped, failed or
interrupted job run again on what it left (each job's own work skips what is done). Progress is
``progress.json`` in the job's directory (:func:`progress_writer`, :func:`status`), logs a file there.
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

RESUMABLE = ("interrupted", "stopped", "failed")
PROGRESS_FILE = "progress.json"


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


def progress_writer(directory: Path, stage: str, every: float = 0.5):
    """A progress callback ``(done, total, desc)`` writing ``progress.json`` at most every ``every`` s."""
    from sparse_feedback.formats import write_json

    last = [0.0]

    def callback(done: int, total: int, desc: str) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < every:
            return
        last[0] = now
        write_json({"stage": stage, "done": done, "total": total, "desc": desc}, Path(directory) / PROGRESS_FILE)

    return callback


def status(store, job_id: int, directory: Path | None = None) -> dict:
    """``{status, message, done, total, stage}`` for the live progress line."""
    from sparse_feedback.store import StoreError

    job = store.job(job_id)
    if job is None:
        raise StoreError(f"no job {job_id}")
    progress = {}
    path = Path(directory or job.get("log_path") or "") / PROGRESS_FILE
    if path.is_file():
        try:
            progress = json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError:  # caught mid-write; the next poll reads it
            progress = {}
    return {"status": job["status"], "message": job.get("message") or "", **progress}


def wait(store, job_id: int, timeout: float = 600, poll: float = 0.5) -> dict:
    """Block until the job is no longer running (for Python callers and tests); returns its last status."""
    deadline = time.monotonic() + timeout
    while (state := status(store, job_id))["status"] == "running":
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still running after {timeout:.0f} s: {describe_status(state)}")
        time.sleep(poll)
    return state


def describe_status(status: dict) -> str:
    """One line for the UI.

    >>> describe_status({"status": "running", "stage": "generate", "done": 3, "total": 8})
    'running · generate: 3/8'
    """
    line = status["status"]
    if status.get("stage"):
        line += f" · {status['stage']}: {status.get('done', 0)}/{status.get('total', 0)}"
    if status.get("message"):
        line += f" · {status['message']}"
    return line
