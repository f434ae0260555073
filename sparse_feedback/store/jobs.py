"""Long-running jobs (judge runs, training, best-of-n): one row each, so a restart knows what was cut off."""

from __future__ import annotations

import json
import os
import zlib
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
from sqlalchemy import insert, select, text, update

from sparse_feedback.store.schema import jobs, utcnow

JOB_STATUSES = ("running", "done", "failed", "interrupted", "stopped")
_SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "auth")


def redact(args: dict) -> dict:
    """Job arguments safe to store: anything that looks like a credential is dropped.

    >>> redact({"model": "m", "api_key": "sk-1", "base_url": "http://x", "hf_token": "t"})
    {'model': 'm', 'base_url': 'http://x'}
    """
    return {k: v for k, v in args.items() if not any(w in k.lower() for w in _SECRET_WORDS)}


def public_url(url: str) -> str:
    """The URL without any user:password part, as it may be stored in a job record.

    >>> public_url("https://user:sk-1@judge.example.com:8443/v1?key=x")
    'https://judge.example.com:8443/v1'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# A job recorded under this very pid before this process started belongs to an earlier process that had
# the same pid (a container restarted: the app is often pid 1 again), so it is not alive.
_PROCESS_STARTED = utcnow()


def _alive(pid: int | None, created_at=None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return created_at is None or created_at >= _PROCESS_STARTED
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobsMixin:
    db: object

    def start_job(self, kind: str, args: dict | None = None, log_path: str | None = None,
                  pid: int | None = None) -> int:
        now = utcnow()
        with self.db.write() as conn:
            return conn.execute(insert(jobs).values(
                kind=kind, status="running", pid=pid if pid is not None else os.getpid(),
                args=redact(dict(args or {})), log_path=log_path, created_at=now, updated_at=now,
            )).inserted_primary_key[0]

    def start_job_unless_running(self, kind: str, args: dict, needed: Callable | None = None) -> int | None:
        """:meth:`start_job`, unless a job of ``kind`` with the same ``args`` is running (its process alive), or
        ``needed(conn)`` (asked in the same transaction, so after any job that just finished) says no: then None,
        so repeated requests coalesce into the one job. One whose process is gone becomes ``interrupted``. Atomic
        across processes (SQLite's write lock; a transaction lock on PostgreSQL)."""
        args = redact(dict(args))
        with self.db.write() as conn:
            now = utcnow()
            if conn.dialect.name == "postgresql":
                key = zlib.crc32(json.dumps([kind, args], sort_keys=True).encode())
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), dict(k=key))
            for r in conn.execute(select(jobs.c.id, jobs.c.pid, jobs.c.created_at, jobs.c.args).where(
                    jobs.c.kind == kind, jobs.c.status == "running")).all():
                if r.args != args:
                    continue
                if _alive(r.pid, r.created_at):
                    return None
                conn.execute(update(jobs).where(jobs.c.id == r.id).values(
                    status="interrupted", updated_at=now, finished_at=now, message="process ended without finishing"))
            if needed is not None and not needed(conn):
                return None
            return conn.execute(insert(jobs).values(
                kind=kind, status="running", pid=os.getpid(), args=args, created_at=now, updated_at=now,
            )).inserted_primary_key[0]

    def record_finished_job(self, kind: str, args: dict, message: str, place: Callable[[int], str],
                            only_first: bool = False) -> int | None:
        """Record a job whose results were made elsewhere (a shipped demo) as ``done``. ``place(job_id)`` puts
        its files where the row will point and returns that path; it runs inside the row's transaction, so if
        it fails no row remains. ``only_first``: record nothing (None) when a job of ``kind`` exists."""
        now = utcnow()
        with self.db.write() as conn:
            if only_first and conn.execute(select(jobs.c.id).where(jobs.c.kind == kind).limit(1)).first():
                return None
            job_id = conn.execute(insert(jobs).values(
                kind=kind, status="done", pid=None, args=redact(dict(args)), message=message, created_at=now,
                updated_at=now, finished_at=now)).inserted_primary_key[0]
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(log_path=place(job_id)))
        return job_id

    def finish_job(self, job_id: int, status: str, message: str | None = None, if_running: bool = False,
                   pid: int | None = None) -> None:
        """Record the job's status; ``if_running``: only if it is still recorded running (a reaper's write never
        overrides a Stop recorded in between); ``pid``: only if that process is still the job's (a reaper of
        a stopped run never ends the resumed run that replaced it)."""
        if status not in JOB_STATUSES:
            raise ValueError(f"unknown job status {status!r}")
        now = utcnow()
        where = jobs.c.id == job_id
        if if_running:
            where &= jobs.c.status == "running"
        if pid is not None:
            where &= jobs.c.pid == pid
        with self.db.write() as conn:
            conn.execute(update(jobs).where(where).values(
                status=status, message=message, updated_at=now,
                finished_at=None if status == "running" else now))

    def attach_process(self, job_id: int, pid: int, log_path: str | None = None) -> None:
        """Record the process doing a job (started apart from the app), so Stop and start-up checks find it."""
        values = {"pid": pid} if log_path is None else {"pid": pid, "log_path": log_path}
        with self.db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def reopen_job(self, job_id: int, statuses: tuple[str, ...]) -> bool:
        """Mark a job that ended as one of ``statuses`` running again (under this process until a new one is
        attached); False if it is in another state or its old process still lives. Atomic, so two resumes
        cannot both win."""
        with self.db.write() as conn:
            row = conn.execute(select(jobs.c.status, jobs.c.pid, jobs.c.created_at).where(jobs.c.id == job_id)).first()
            if row is None or row.status not in statuses or _alive(row.pid, row.created_at):
                return False
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                status="running", pid=os.getpid(), message=None, finished_at=None, updated_at=utcnow()))
        return True

    def job(self, job_id: int) -> dict | None:
        with self.db.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return dict(row._mapping) if row else None

    def jobs(self, kind: str | None = None) -> pd.DataFrame:
        query = select(jobs).order_by(jobs.c.id.desc())
        if kind:
            query = query.where(jobs.c.kind == kind)
        with self.db.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        return pd.DataFrame(rows, columns=[c.name for c in jobs.columns])

    def mark_interrupted(self) -> int:
        """Jobs recorded as running whose process is gone become ``interrupted``; returns how many."""
        with self.db.write() as conn:
            rows = conn.execute(select(jobs.c.id, jobs.c.pid, jobs.c.created_at).where(jobs.c.status == "running")).all()
            dead = [r.id for r in rows if not _alive(r.pid, r.created_at)]
            if dead:
                conn.execute(update(jobs).where(jobs.c.id.in_(dead)).values(
                    status="interrupted", updated_at=utcnow(), message="process ended without finishing"))
        return len(dead)
