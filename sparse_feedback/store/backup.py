"""Online backups of the store: a consistent copy, as a SQLite file, while annotators write.

SQLite stores are copied with SQLite's backup API in one step inside a single read transaction (WAL mode
lets writers go on meanwhile). Other servers (PostgreSQL) are copied logically, table by table through
SQLAlchemy, inside one ``REPEATABLE READ`` read-only transaction: one snapshot, no ``pg_dump`` of the same
major version needed, and the copy opens as a store anywhere. Either way the copy is written next to
``output`` and renamed into place only after an integrity check, so a failed backup never leaves a
half-written file.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, insert, select

from sparse_feedback.errors import InputError
from sparse_feedback.formats import check_output
from sparse_feedback.store.engine import BUSY_TIMEOUT_MS, Database, _sqlite_path, default_url
from sparse_feedback.store.schema import metadata, migrate

COUNTED = ("projects", "items", "annotations", "llm_feedback", "jobs")


@dataclass(frozen=True)
class BackupResult:
    output: Path
    bytes: int
    counts: dict[str, int]

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {table}" for table, n in self.counts.items())
        return f"backed up to {self.output} ({self.bytes / 2**20:.1f} MB): {counts}"


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per table that matters to a restore (projects, items, annotations, LLM feedback, jobs)."""
    return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in COUNTED}


def backup(output, url: str | None = None) -> BackupResult:
    """Copy the store at ``url`` (default: the configured store) to the SQLite file ``output``."""
    url = url or default_url()
    check_output(Path(output))  # an existing backup file may be replaced; a folder never
    if not url.startswith("sqlite"):
        return _logical_backup(url, Path(output))
    source = _sqlite_path(url)
    if source is None:
        raise InputError(url, "an in-memory store cannot be backed up")
    if not source.is_file():
        raise InputError(source, "no store at this path")
    output = Path(output)
    if output.resolve() == source.resolve():
        raise InputError(output, "the backup must not overwrite the store itself")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # pages=-1: the whole file in one step, under one read transaction
        found = _checked_counts(dst)
    finally:
        dst.close()
        src.close()
    return _publish(partial, output, found)


def _checked_counts(db: sqlite3.Connection) -> dict[str, int]:
    """The copy's row counts, once SQLite has found it whole."""
    check = db.execute("PRAGMA integrity_check").fetchone()[0]
    if check != "ok":
        raise RuntimeError(f"the copy failed its integrity check: {check}")
    return counts(db)


def _publish(partial: Path, output: Path, found: dict[str, int]) -> BackupResult:
    os.replace(partial, output)
    return BackupResult(output, output.stat().st_size, found)


def _logical_backup(url: str, output: Path, chunk: int = 5000) -> BackupResult:
    """Every store table copied from a server database into a new SQLite store, from one snapshot."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    partial.unlink(missing_ok=True)
    source = create_engine(url, future=True)
    copy = Database(f"sqlite:///{partial}")
    try:
        migrate(copy)
        snapshot = source.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with snapshot.connect() as src, copy.write() as dst:
            for table in metadata.sorted_tables:  # parents before children: foreign keys hold row by row
                if table.name == "schema_version":
                    continue  # the copy has its own, written by migrate()
                rows = src.execution_options(stream_results=True, yield_per=chunk).execute(
                    select(table).order_by(*table.primary_key.columns))
                for part in rows.partitions(chunk):
                    dst.execute(insert(table), [r._asdict() for r in part])
    except Exception:
        copy.dispose()
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.dispose()
    copy.dispose()
    db = sqlite3.connect(partial)
    try:
        found = _checked_counts(db)
    finally:
        db.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    return _publish(partial, output, found)
