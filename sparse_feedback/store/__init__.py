"""The annotation store: projects, tasks, human annotations, LLM feedback, users and jobs in one database.

SQLite (WAL) at ``$SPARSE_FEEDBACK_HOME/sparse_feedback.db`` by default; ``$SPARSE_FEEDBACK_DB`` takes any
SQLAlchemy URL. Every write is one short transaction, committed before the method returns.
"""

from sparse_feedback.lazy import lazy_package

__all__ = lazy_package(__name__, {
    ".adjudicate": ["ADJUDICATED"],
    ".annotate": ["PROTOCOLS", "Progress", "Submission", "Task"],
    ".answers": ["Answer"],
    ".core": ["Store"],
    ".engine": ["Database", "default_url"],
    ".jobs": ["redact"],
    ".projects": ["DEFAULT_GUIDELINE", "Project", "StoreError"],
    ".schema": ["SCHEMA_VERSION", "migrate"],
    ".studies": ["StudyLink", "StudySettings"],
    ".users": ["Account", "check_password", "configured_accounts", "parse_users"],
})
