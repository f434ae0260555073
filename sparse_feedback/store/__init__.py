"""The annotation store: projects, tasks, human annotations, LLM feedback, users and jobs in one database.

SQLite (WAL) at ``$SPARSE_FEEDBACK_HOME/sparse_feedback.db`` by default; ``$SPARSE_FEEDBACK_DB`` takes any
SQLAlchemy URL. Every write is one short transaction, committed before the method returns.
"""

from __future__ import annotations

from sparse_feedback.store.answers import Answer, AnswersMixin
from sparse_feedback.store.annotate import PROTOCOLS, AnnotateMixin, Progress, Submission, Task
from sparse_feedback.store.engine import Database, default_url
from sparse_feedback.store.export import ExportMixin
from sparse_feedback.store.jobs import JobsMixin, redact
from sparse_feedback.store.projects import DEFAULT_GUIDELINE, Project, ProjectsMixin, StoreError
from sparse_feedback.store.schema import SCHEMA_VERSION, migrate
from sparse_feedback.store.users import Account, UsersMixin, check_password, configured_accounts, parse_users


class Store(ProjectsMixin, AnnotateMixin, AnswersMixin, ExportMixin, JobsMixin, UsersMixin):
    """The one entry point to stored data. ``Store()`` opens (and migrates) the default database."""

    def __init__(self, url: str | None = None):
        self.db = Database(url)
        migrate(self.db)

    @property
    def url(self) -> str:
        return self.db.url

    def close(self) -> None:
        self.db.dispose()


__all__ = [
    "Answer", "DEFAULT_GUIDELINE", "PROTOCOLS", "SCHEMA_VERSION", "Account", "Database", "Progress", "Project", "Store",
    "StoreError", "Submission", "Task", "check_password", "configured_accounts", "default_url", "migrate",
    "parse_users", "redact",
]
