"""Imports as jobs of the one runner (:mod:`.runner`): a file becomes a project in a process of its own.

:func:`start_import` hands the upload over as a file in the job's directory under the data home
(``imports/job-<id>/``), records an ``import`` job and spawns ``python -m sparse_feedback.jobs.imports DIR ID``.
That process reads the file and writes the project with the store's chunked writer (a short transaction per
chunk, the project hidden until one last rename publishes it) at a lower CPU priority, so the reading and
row building (pandas, SQL) never hold the app server's GIL while annotators submit. It writes
``progress.json`` as it goes and removes the handed-over file when it ends, however it ends.

Stop ends the process (SIGTERM): it removes what it wrote and exits. A process killed outright is cleaned by
the runner's reaper (:func:`_outcome`) or, if the app died too, at start-up (:func:`clean_up`).
:func:`import_file` (start, then follow the progress until the end) is what the CLI and the Import tab call.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Callable

from sparse_feedback import formats
from sparse_feedback.errors import InputError, UserError, disk_error
from sparse_feedback.formats.uploads import max_upload_bytes, upload_path
from sparse_feedback.jobs import runner
from sparse_feedback.settings import home
from sparse_feedback.store import StoreError
from sparse_feedback.store.importing import UPLOAD_KINDS, create_project, read_upload
from sparse_feedback.store.limits import check_name

JOB_KIND = "import"
SETTINGS_FILE = "settings.json"
NICENESS = 10  # the import yields the CPU to the app server (and its annotators) when both want it
CHUNK = 250  # items a transaction (each with its rating and pair tasks)
# Seconds between two chunks on SQLite: its busy handler sleeps between tries (1, 2, 5, ... 25, 50, 100 ms), so
# a writer that waited through a chunk needs a gap that long to take the lock before the next chunk does.
PAUSE = float(os.environ.get("SPARSE_FEEDBACK_IMPORT_PAUSE", "0.05"))
_ABSOLUTE = re.compile(r"(/[^\s'\"/]+)+/([^\s'\"/]+)")  # server paths in a message: keep the file name only


# A half-written import needs no disk flush per chunk: lost to a power cut, it is still hidden and is removed at
# start-up (SQLite's WAL keeps the order, so a kept "done" implies the kept project).
_JOB_ENV = {"SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS": "NORMAL", "PYTHONUNBUFFERED": "1"}


def jobs_root() -> Path:
    return home() / "imports"


def owner(job_id: int) -> str:
    """How a job's hidden, half-written project is named (after the store's prefix), so it can be found."""
    return f"job{job_id}-"


def read_named(path, kind: str = "auto", name: str | None = None):
    """:func:`~sparse_feedback.store.importing.read_upload` of an uploaded file (a ``.zip`` holds a dataset
    folder); any failure is an InputError naming the upload as the user knows it (``name``), never a path on
    the server."""
    shown = name or Path(str(path)).name
    try:
        with upload_path(path) as local:
            return read_upload(local, kind or "auto")
    except InputError as err:
        inner = Path(err.path).name
        where = shown if inner in (shown, Path(str(path)).name) else f"{shown} ({inner})"  # a folder in a zip
        raise InputError(where, _ABSOLUTE.sub(r"\2", err.message), err.where, err.column) from None
    except Exception as err:  # a reader's blind spot must still read as a refusal, not a traceback
        import logging

        logging.getLogger(__name__).exception("unexpected failure reading an upload")
        raise InputError(shown, f"could not read this file ({type(err).__name__})") from None


# Uploads larger than this are previewed in a process of their own (a 1 M-row CSV takes seconds to read and
# check, which would hold the app server's GIL while annotators submit); smaller ones are read in place.
PREVIEW_IN_PLACE_BYTES = int(os.environ.get("SPARSE_FEEDBACK_PREVIEW_IN_PLACE_BYTES", 2_000_000))


def preview_file(path, kind: str = "auto", name: str | None = None, rows: int = 20):
    """``(summary line, preview table)`` of an upload, read and checked in full as the import will read it;
    an InputError (naming ``name``, row and column) on bad input. Files over :data:`PREVIEW_IN_PLACE_BYTES`
    are read by a child process at a lower priority."""
    name = name or Path(str(path)).name
    if Path(str(path)).stat().st_size <= PREVIEW_IN_PLACE_BYTES:
        return _preview_in_place(path, kind, name, rows)
    import json
    import subprocess

    import pandas as pd

    done = subprocess.run([sys.executable, "-m", "sparse_feedback.jobs.imports", "--preview", str(path),
                           kind or "auto", name, str(rows)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        import logging

        logging.getLogger(__name__).error("preview process failed (exit %s): %s", done.returncode, done.stderr[-2000:])
        raise InputError(name, "could not read this file (the preview process failed)") from None
    if "error" in answer:
        raise InputError(**answer["error"])
    return answer["summary"], pd.DataFrame(answer["rows"], columns=answer["columns"])


def _preview_in_place(path, kind: str, name: str, rows: int):
    from sparse_feedback.store.importing import preview, summary

    up = read_named(path, kind, name)
    return summary(up), preview(up, rows)


def _preview_main(path: str, kind: str, name: str, rows: str) -> int:
    """The preview process: one JSON line on stdout, the preview or the InputError's parts."""
    import json

    _lower_priority()
    try:
        line, table = _preview_in_place(path, kind, name, int(rows))
    except InputError as err:
        parts = {"path": err.path, "message": err.message, "where": err.where, "column": err.column}
        print(json.dumps({"error": parts}))
        return 2
    print(json.dumps({"summary": line, "columns": list(table.columns), "rows": table.values.tolist()}, default=str))
    return 0


def _lower_priority() -> None:
    try:
        os.nice(NICENESS)
    except OSError:
        pass


# ------------------------------------------------------------------ starting, following, stopping

def start_import(store, path, project: str, kind: str = "auto", overlap: int = 1, source_model: str = "llm",
                 name: str | None = None) -> int:
    """Check the request, hand ``path`` to a new import job and start its process; returns the job id.

    ``name``: the file's name as the user knows it (an upload's original name), used in messages."""
    path = Path(str(path))
    name = name or path.name
    project = check_name("project name", project)
    source_model = check_name("LLM source name", source_model or "llm")
    if kind not in UPLOAD_KINDS:
        raise StoreError(f"kind must be one of {', '.join(UPLOAD_KINDS)}")
    if int(overlap) < 1:
        raise StoreError("overlap must be at least 1")
    if not path.is_file():
        raise InputError(name, "no such file")
    if path.stat().st_size > max_upload_bytes():  # refused now rather than after the hand-over
        with upload_path(path):
            pass
    args = {"project": project, "kind": kind, "overlap": int(overlap), "source_model": source_model,
            "file": name, "upload": "upload" + "".join(path.suffixes[-1:]).lower()}
    job_id = store.start_job(JOB_KIND, args)
    directory = jobs_root() / f"job-{job_id}"
    try:
        directory = formats.claim_dir(directory, "import job")
        _hand_over(path, directory / args["upload"])
        formats.write_json(args, directory / SETTINGS_FILE)
        runner.spawn(store, job_id, [sys.executable, "-m", "sparse_feedback.jobs.imports", str(directory), str(job_id)],
                     directory / "log.txt", env=_JOB_ENV | {"SPARSE_FEEDBACK_DB": store.url}, log_path=str(directory),
                     on_exit=_outcome(store, job_id, directory))
    except (OSError, UserError) as err:
        store.finish_job(job_id, "failed", f"could not start the import: {disk_error(err) or err}")
        (directory / args["upload"]).unlink(missing_ok=True)
        raise StoreError(f"could not start the import: {disk_error(err) or err}") from None
    return job_id


def _hand_over(source: Path, target: Path) -> None:
    """The job's own copy of the upload: a hard link when it can be one (same disk), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _outcome(store, job_id: int, directory: Path):
    """When the process ends still recorded as running (killed, crashed): failed, and its leftovers removed."""

    def outcome(code: int) -> tuple[str, str]:
        _remove_leftovers(store, job_id, directory)
        reason = runner.ended(code, directory / "log.txt", runner.where(runner.read_progress(directory)))
        return "failed", f"the import process ended unexpectedly ({reason}); nothing was kept"

    return outcome


def _remove_leftovers(store, job_id: int, directory: Path | None) -> None:
    store.drop_unfinished_imports(owner=owner(job_id))
    if directory is not None:
        for upload in Path(directory).glob("upload*"):
            upload.unlink(missing_ok=True)


def clean_up(store) -> int:
    """At start-up, after :func:`runner.mark_interrupted`: remove the half-written projects and handed-over
    files of every import that is no longer running (one cut off by a restart); returns projects removed."""
    running = store.jobs(JOB_KIND)
    running = running[running["status"] == "running"]
    dropped = store.drop_unfinished_imports(keep=tuple(owner(int(i)) for i in running["id"]))
    root = jobs_root()
    if root.is_dir():
        alive = {f"job-{int(i)}" for i in running["id"]}
        for upload in root.glob("job-*/upload*"):
            if upload.parent.name not in alive:
                upload.unlink(missing_ok=True)
    return dropped


def follow(store, job_id: int, progress: Callable[[int, int, str], None] | None = None, poll: float = 0.5) -> dict:
    """Report the job's progress until it ends (``progress(done, total, stage)``); returns its last status."""
    while (state := runner.status(store, job_id))["status"] == "running":
        if progress is not None and state.get("total"):
            progress(state["done"], state["total"], state.get("stage", "import"))
        time.sleep(poll)
    return state


def import_file(store, path, project: str, kind: str = "auto", overlap: int = 1, source_model: str = "llm",
                name: str | None = None, progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Import ``path`` as a project in a background job and wait for it: the CLI and the Import tab call this.
    Returns the job's end (``status``: done, failed or stopped; ``message``: its counts or why, one line)."""
    job_id = start_import(store, path, project, kind, overlap, source_model, name)
    try:
        return {"job": job_id, **follow(store, job_id, progress)}
    except KeyboardInterrupt:  # the CLI's Ctrl-C: the job's process is in its own session, so stop it too
        stop_import(store, job_id)
        raise


def running(store) -> list[int]:
    """The imports running now."""
    jobs = store.jobs(JOB_KIND)
    return [int(i) for i in jobs.loc[jobs["status"] == "running", "id"]]


def stop_import(store, job_id: int) -> str:
    """End a running import: its process removes what it wrote; nothing of the project is kept."""
    return runner.stop_job(store, job_id, JOB_KIND, "import", "stopped by request; nothing was kept")


# ------------------------------------------------------------------ the job's process

class _Stopped(BaseException):
    """Stop (SIGTERM) arrived: unwind, so the store's writer removes what it wrote."""


class _StopSignal:
    """SIGTERM while the file is read (nothing written yet) stops at once; while the store is written it is
    only noted, and acted on between two chunks (:meth:`check`): an exception raised in the middle of a
    transaction's bookkeeping could leave that transaction, and the write lock, open."""

    def __init__(self):
        self.requested, self.reading = False, False
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, _signum, _frame) -> None:
        self.requested = True
        if self.reading:
            raise _Stopped()

    def check(self) -> None:
        if self.requested:
            raise _Stopped()


def run_job(store, directory: Path, job_id: int, stop: _StopSignal) -> tuple[str, str]:
    """Read the handed-over file and write the project; returns the job's ``(status, message)``."""
    args = _read_json(directory)
    upload = directory / args["upload"]
    try:
        runner.progress_writer(directory, "read")(0, 1, args["file"])
        stop.check()
        stop.reading = True
        up = read_named(upload, args["kind"], args["file"])
        stop.reading = False
        stop.check()
        counts = create_project(store, up, args["project"], args["overlap"], args["source_model"], chunk=CHUNK,
                                callback=_between_chunks(store, runner.progress_writer(directory, "write"), stop),
                                owner=owner(job_id))
    except UserError as err:
        return "failed", str(err)
    except Exception as err:  # noqa: BLE001 - the job row says what; the log has the traceback
        import traceback

        traceback.print_exc()
        return "failed", disk_error(err) or f"the import failed ({type(err).__name__}); nothing was kept"
    finally:
        stop.reading = False
        upload.unlink(missing_ok=True)
    return "done", ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items())


def _between_chunks(store, report, stop: _StopSignal):
    """After each chunk's commit (the write lock free): act on a Stop; report progress; on SQLite, copy the
    WAL into the database (a checkpoint, which takes no write lock) so the annotators' commits do not find a
    large WAL to checkpoint themselves; then pause so that writers waiting in SQLite's busy handler (which
    sleeps between tries) take the lock before the next chunk does."""

    def callback(done: int, total: int, desc: str) -> None:
        stop.check()
        report(done, total, desc)
        if store.db.is_sqlite:  # (PostgreSQL wakes a waiting writer at once, and checkpoints on its own)
            raw = store.db.engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                raw.close()
            time.sleep(PAUSE)

    return callback


def _read_json(directory: Path) -> dict:
    import json

    return json.loads((directory / SETTINGS_FILE).read_text("utf-8"))


def main(argv: list[str] | None = None) -> int:
    from sparse_feedback.store import Store

    if argv and argv[0] == "--preview":
        return _preview_main(*argv[1:5])
    directory, job_id = Path(argv[0]), int(argv[1])
    stop = _StopSignal()
    _lower_priority()
    store = Store(os.environ.get("SPARSE_FEEDBACK_DB"))
    try:
        status, message = run_job(store, directory, job_id, stop)
    except _Stopped:  # the store removed what it wrote; the row already says stopped
        return 143
    # A Stop that came after the last chunk was too late: the project is there, and the row says so.
    if status == "done" or store.job(job_id)["status"] == "running":
        store.finish_job(job_id, status, message[:500])
    store.close()
    return 0 if status == "done" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
