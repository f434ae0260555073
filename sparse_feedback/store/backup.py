"""Online backups of a SQLite store with SQLite's backup API: a consistent copy while annotators write.

The copy is taken in one step inside a single read transaction, so it is the store exactly as it was at
one commit (WAL mode lets writers go on meanwhile); it is written next to ``output`` and renamed into
place only after an integrity check, so a failed backup never leaves a half-written file.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sparse_feedback.errors import InputError
from sparse_feedback.formats import check_output
from sparse_feedback.store.engine import BUSY_TIMEOUT_MS, _sqlite_path, default_url

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
    source = _sqlite_path(url) if url.startswith("sqlite") else None
    if source is None:
        raise InputError(url, "backup copies SQLite stores; use the database's own tools (pg_dump) for others")
    if not source.is_file():
        raise InputError(source, "no store at this path")
    output = Path(output)
    if output.resolve() == source.resolve():
        raise InputError(output, "the backup must not overwrite the store itself")
    check_output(output)  # an existing backup file may be replaced; a folder never
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # pages=-1: the whole file in one step, under one read transaction
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise RuntimeError(f"the copy failed its integrity check: {check}")
        found = counts(dst)
    finally:
        dst.close()
        src.close()
    os.replace(partial, output)
    return BackupResult(output, output.stat().st_size, found)
