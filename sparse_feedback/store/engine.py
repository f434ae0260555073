"""The database connection: SQLite in WAL mode by default, any SQLAlchemy URL via ``SPARSE_FEEDBACK_DB``.

SQLite allows one writer at a time. Writes take the lock up front (``BEGIN IMMEDIATE``) and are
serialised in-process by a lock, so concurrent annotators queue for a few milliseconds instead of
failing with "database is locked"; ``busy_timeout`` covers writers in other processes (CLI jobs).

Durability is ``$SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS``: ``FULL`` (default) syncs the WAL to disk at every
commit, so an acknowledged answer survives a process kill and a power cut; ``NORMAL`` leaves the sync to
checkpoints, which still survives a process kill (the commit is in the OS's file cache) but may lose the
last commits on a power cut or kernel crash, in exchange for no disk flush under the write lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event

from sparse_feedback.errors import InputError
from sparse_feedback.settings import home

BUSY_TIMEOUT_MS = 30_000
SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")  # OFF is not offered: it risks a corrupt store on a power cut


def sqlite_synchronous() -> str:
    """``$SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS`` (FULL, NORMAL or EXTRA; default FULL)."""
    value = os.environ.get("SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS", "FULL").strip().upper() or "FULL"
    if value not in SYNCHRONOUS:
        raise InputError("SPARSE_FEEDBACK_SQLITE_SYNCHRONOUS", f"expected one of {', '.join(SYNCHRONOUS)}, not {value!r}")
    return value


def default_url() -> str:
    """``$SPARSE_FEEDBACK_DB``, else SQLite at ``$SPARSE_FEEDBACK_HOME/sparse_feedback.db``."""
    url = os.environ.get("SPARSE_FEEDBACK_DB")
    if url:
        return url
    path = home() / "sparse_feedback.db"
    return f"sqlite:///{path}"


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///"):].split("?", 1)[0]
    return Path(rest) if rest and rest != ":memory:" else None


def make_engine(url: str) -> Engine:
    """An engine; for SQLite: WAL, busy timeout, foreign keys, explicit transaction control."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, future=True)
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    synchronous = sqlite_synchronous()
    engine = create_engine(url, future=True, pool_size=16, max_overflow=48, pool_timeout=60,
                           connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


class Database:
    """An engine plus the two transaction kinds the store uses: ``read()`` and ``write()``."""

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        self.engine = make_engine(self.url)
        self.is_sqlite = self.url.startswith("sqlite")
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        self._write_lock = threading.Lock() if self.is_sqlite else contextlib.nullcontext()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One short write transaction, committed (durably) when the block exits without error."""
        with self._write_lock, self._writer.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent read snapshot."""
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
