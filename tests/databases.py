"""Store URLs for tests that must hold on both backends: SQLite (a file) and PostgreSQL (a fresh database).

PostgreSQL comes from ``$SPARSE_FEEDBACK_TEST_PG`` (a server URL; ``.ci/postgres`` starts a throwaway cluster
and prints it). Without it, Postgres cases skip locally; under CI (``$CI`` set) they fail instead.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BACKENDS = ("sqlite", "postgres")


def server_url() -> str:
    url = os.environ.get("SPARSE_FEEDBACK_TEST_PG")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL: $SPARSE_FEEDBACK_TEST_PG is unset (see .ci/postgres)")
        pytest.skip("PostgreSQL not configured: set $SPARSE_FEEDBACK_TEST_PG (see .ci/postgres)")
    return url


class FreshPostgres:
    """A new, empty database on the test server; dropped on close."""

    def __init__(self):
        base = make_url(server_url())
        self.name = f"sf_test_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def close(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def fresh_url(backend: str, tmp_path) -> tuple[str, object]:
    """(url, closer) of an empty store database on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'sf.db'}", None
    db = FreshPostgres()
    return db.url, db


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """An empty store URL, once per backend."""
    url, closer = fresh_url(request.param, tmp_path)
    yield url
    if closer is not None:
        closer.close()


def store_with_project(url: str, overlap: int = 1):
    """A store at ``url`` holding project ``p``: 2 instructions × 3 responses, each task to ``overlap`` people."""
    from sparse_feedback.store import Store
    from tests.appserver import small_generation

    store = Store(url)
    store.create_project_from_generation(small_generation(2, 3), "p", overlap=overlap)
    return store
