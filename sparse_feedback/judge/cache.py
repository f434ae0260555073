"""A persistent answer cache in SQLite (WAL): every valid answer is committed the moment it arrives.

Keyed by a hash of (backend, model, messages, sampling parameters), so a rerun, or a run killed at
any instant, never pays twice for an answer it already received. Only parsable answers are stored.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sparse_feedback.settings import home


def default_cache_path() -> Path:
    return home() / "judge_cache.db"


def cache_key(backend: str, model: str, messages, params: dict) -> str:
    """A stable hash of everything that determines an answer.

    >>> k = cache_key("openai", "m", [{"role": "user", "content": "hi"}], {"temperature": 0})
    >>> k == cache_key("openai", "m", [{"content": "hi", "role": "user"}], {"temperature": 0}), len(k)
    (True, 64)
    """
    blob = json.dumps({"backend": backend, "model": model, "messages": list(messages), "params": params},
                      sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class CachedAnswer:
    text: str
    probs: dict | None


class AnswerCache:
    """``get(key)`` / ``put_many([(key, ...), ...])``; safe to share between threads and between processes."""

    def __init__(self, path=None):
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives the process being killed (not a power cut), cheaply.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, model TEXT NOT NULL, "
                         "answer TEXT NOT NULL, probs TEXT, created REAL NOT NULL)")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(answers)")}
        for column in ("prompt_tokens", "completion_tokens"):  # usage per answer; older caches gain the columns
            if column not in columns:
                self._db.execute(f"ALTER TABLE answers ADD COLUMN {column} INTEGER")

    def get(self, key: str) -> CachedAnswer | None:
        with self._lock:
            row = self._db.execute("SELECT answer, probs FROM answers WHERE key = ?", (key,)).fetchone()
        return CachedAnswer(row[0], json.loads(row[1]) if row[1] else None) if row else None

    def put_many(self, answers) -> None:
        """Commit ``(key, model, text, probs[, (prompt_tokens, completion_tokens)])`` answers in one transaction."""
        now = time.time()
        rows = []
        for key, model, text, probs, *usage in answers:
            tokens = usage[0] if usage and usage[0] else (None, None)
            rows.append((key, model, text, json.dumps(probs) if probs else None, now, *tokens))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO answers (key, model, answer, probs, created, "
                                    "prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def usage(self) -> tuple[int, int]:
        """Prompt and completion tokens of every answer in the cache (what it cost to fill)."""
        with self._lock:
            row = self._db.execute("SELECT SUM(prompt_tokens), SUM(completion_tokens) FROM answers").fetchone()
        return int(row[0] or 0), int(row[1] or 0)

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "AnswerCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
