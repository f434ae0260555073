"""The :class:`Store` itself: the mixins of each concern over one migrated database."""

from __future__ import annotations

from sparse_feedback.store.adjudicate import AdjudicateMixin
from sparse_feedback.store.annotate import AnnotateMixin
from sparse_feedback.store.answers import AnswersMixin
from sparse_feedback.store.engine import Database
from sparse_feedback.store.export import ExportMixin
from sparse_feedback.store.jobs import JobsMixin
from sparse_feedback.store.projects import ProjectsMixin
from sparse_feedback.store.queue import QueueMixin
from sparse_feedback.store.schema import migrate
from sparse_feedback.store.studies import StudiesMixin
from sparse_feedback.store.users import UsersMixin


class Store(ProjectsMixin, AnnotateMixin, AnswersMixin, AdjudicateMixin, ExportMixin, JobsMixin, UsersMixin,
            StudiesMixin, QueueMixin):
    """The one entry point to stored data. ``Store()`` opens (and migrates) the default database."""

    def __init__(self, url: str | None = None):
        self.db = Database(url)
        migrate(self.db)

    @property
    def url(self) -> str:
        return self.db.url

    def close(self) -> None:
        self.db.dispose()
