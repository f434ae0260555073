"""The store's tables and their versioned migrations.

``schema_version`` holds one row per applied migration; :func:`migrate` applies the missing ones in
order inside one write transaction, so a half-migrated store never exists.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import (
    JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text,
    UniqueConstraint, func, inspect, select,
)

metadata = MetaData()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", DateTime, nullable=False),
)

users = Table(
    "users", metadata,
    Column("name", String(200), primary_key=True),
    Column("role", String(20), nullable=False),  # 'annotator' | 'admin'
    Column("created_at", DateTime, nullable=False),
)

projects = Table(
    "projects", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("guideline", Text, nullable=False, default=""),
    Column("overlap", Integer, nullable=False, default=1),
    Column("created_at", DateTime, nullable=False),
)

items = Table(
    "items", metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("instruction", Text, nullable=False),
    Column("input", Text, nullable=False, default=""),
    Column("responses", JSON, nullable=False),
    UniqueConstraint("project_id", "position"),
)


def _task_table(name: str, *responses: Column) -> Table:
    """A protocol's task table: one row per (item, the response columns), with its open assignments."""
    return Table(
        name, metadata,
        Column("id", Integer, primary_key=True),
        Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
        Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        *responses,
        Column("active", Integer, nullable=False, default=0, server_default="0"),  # open or done assignments
        Column("priority", Integer, nullable=False, default=0, server_default="0"),  # v8: rank in the stored order
        UniqueConstraint("item_id", *(column.name for column in responses)),
    )


rating_tasks = _task_table("rating_tasks", Column("response_index", Integer, nullable=False))
pair_tasks = _task_table("pair_tasks",
                         Column("index1", Integer, nullable=False),  # (a) in stored, un-randomised terms
                         Column("index2", Integer, nullable=False))  # (b)

assignments = Table(
    "assignments", metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("protocol", String(10), nullable=False),  # 'ratings' | 'rankings'
    Column("task_id", Integer, nullable=False),  # rating_tasks.id or pair_tasks.id, by protocol
    Column("annotator", String(200), nullable=False),
    Column("status", String(10), nullable=False),  # 'open' | 'done' | 'skipped'
    Column("swapped", Boolean, nullable=False, default=False),  # rankings: (b) shown on the left
    Column("serve_token", String(64), nullable=False),  # the submit id the UI sends back for this showing
    Column("shown_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("protocol", "task_id", "annotator"),  # never the same task twice
)

annotations = Table(
    "annotations", metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("assignment_id", ForeignKey("assignments.id", ondelete="CASCADE"), nullable=False),
    Column("protocol", String(10), nullable=False),
    Column("task_id", Integer, nullable=False),
    Column("annotator", String(200), nullable=False, index=True),
    Column("value", String(10), nullable=False),  # '1'..'7' or '(a)' / '(b)' / 'equal' (un-randomised)
    Column("swapped", Boolean, nullable=False, default=False),  # left/right order shown
    Column("seconds", Float),
    Column("created_at", DateTime, nullable=False),
    Column("submit_id", String(100), nullable=False, unique=True),  # client id: resubmits are no-ops
    Column("undone", Boolean, nullable=False, default=False),
    # v4: what the annotator noted with the answer, and its version. An edit is a new row (version + 1, ``revises``
    # the row it replaces); the old row stays as it was, for the audit trail.
    Column("comment", Text, nullable=False, default="", server_default=""),
    Column("flags", String(100), nullable=False, default="", server_default=""),  # limits.FLAGS, comma-separated
    Column("version", Integer, nullable=False, default=1, server_default="1"),  # per assignment: 1, 2, ...
    Column("revises", Integer),  # annotations.id of the version this one replaces; None for a first answer
)

llm_feedback = Table(
    "llm_feedback", metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("protocol", String(10), nullable=False),
    Column("task_id", Integer, nullable=False),
    Column("source_model", String(200), nullable=False),
    Column("reversed", Boolean, nullable=False, default=False),  # rankings: judged as (index2, index1)
    Column("value", String(10), nullable=False),  # un-randomised terms, like annotations.value
    Column("raw_answers", JSON, nullable=False, default=list),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("protocol", "task_id", "source_model", "reversed"),
)

jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(50), nullable=False),
    Column("status", String(12), nullable=False),  # running | done | failed | interrupted | stopped
    Column("pid", Integer),
    Column("args", JSON, nullable=False, default=dict),  # never secrets (see jobs.redact)
    Column("log_path", Text),
    Column("message", Text),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
)

# v6: a researcher's or admin's final label for a pair where sources disagree. Never an edit of anyone's answer:
# a new row per decision, ``revises`` the decision it replaces (the old one stays, for the audit trail).
adjudications = Table(
    "adjudications", metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("protocol", String(10), nullable=False),  # 'rankings': a pair task's label
    Column("task_id", Integer, nullable=False),
    Column("value", String(10), nullable=False),  # '(a)' / '(b)' / 'equal' in the task's stored terms
    Column("accepted", String(200), nullable=False),  # the source whose label was accepted, or 'entered'
    Column("disagreement", String(200), nullable=False, default=""),  # which judgements disagreed
    Column("reason", Text, nullable=False),
    Column("adjudicator", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revises", Integer),  # adjudications.id of the decision this one replaces
)


# v7: human studies. The policy (gold rate, paired design, quotas, quality) lives in sparse_feedback.study; these
# tables only hold what it decides and what an admin set.
study_settings = Table(
    "study_settings", metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("gold_every", Integer, nullable=False, default=0),  # one gold task in every N served; 0: none
    Column("paired", Boolean, nullable=False, default=False),  # each annotator rates and ranks the same items
    Column("fast_seconds", Float, nullable=False, default=0.0),  # answers faster than this are flagged; 0: off
)

gold = Table(
    "gold", metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("protocol", String(10), nullable=False),
    Column("task_id", Integer, nullable=False),
    Column("expected", String(10), nullable=False),  # stored terms, as annotations.value
    UniqueConstraint("protocol", "task_id"),
)

excluded = Table(  # annotators whose answers are left out of exports, training and dashboards (kept, never deleted)
    "excluded", metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("annotator", String(200), primary_key=True),
    Column("reason", Text, nullable=False, default=""),
)

study_log = Table(  # every study change an admin made: who, when, what
    "study_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(200), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
)

designs = Table(  # paired design: which protocol each annotator does first (drawn at random, recorded)
    "designs", metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("annotator", String(200), primary_key=True),
    Column("first", String(10), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

study_links = Table(
    "study_links", metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the secret token; never the token
    Column("quota", Integer, nullable=False),  # answers per participant
    Column("completion_code", String(200), nullable=False),
    Column("redirect_url", Text, nullable=False, default=""),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

participants = Table(
    "participants", metadata,
    Column("id", Integer, primary_key=True),
    Column("link_id", ForeignKey("study_links.id", ondelete="CASCADE"), nullable=False),
    Column("participant_id", String(200), nullable=False),  # PROLIFIC_PID or ?participant=: stored, never shown
    Column("annotator", String(200), nullable=False, unique=True),  # the name their answers are stored under
    Column("study_id", String(200), nullable=False, default=""),
    Column("session_id", String(200), nullable=False, default=""),
    Column("started_at", DateTime, nullable=False),
    Column("completed_at", DateTime),
    UniqueConstraint("link_id", "participant_id"),
)

STUDY_TABLES = [study_settings, gold, excluded, study_log, designs, study_links, participants]

# v8: the queue strategy of each project and why each task sits where it does in its order (the order itself is
# the tasks' ``priority`` column, so the next task stays one index walk).
queue_settings = Table(
    "queue_settings", metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("strategy", String(20), nullable=False, default="random"),
    Column("reward_model", Text, nullable=False, default=""),  # uncertainty: the RM's directory
    Column("llm_source", String(200), nullable=False, default=""),  # disagreement: the LLM source ('' = any)
    Column("updated_at", DateTime, nullable=False),
    Column("computed_at", DateTime),  # when the stored order was last written
    Column("computed_strategy", String(20)),  # the strategy that order follows
    Column("stale", Boolean, nullable=False, default=True),  # its inputs changed since
    Column("message", Text, nullable=False, default=""),  # the last computation's summary or error
)

queue_reasons = Table(
    "queue_reasons", metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("protocol", String(10), primary_key=True),
    Column("task_id", Integer, primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", Text, nullable=False),
)

V1_TABLES = [users, projects, items, rating_tasks, pair_tasks, assignments, annotations, llm_feedback, jobs]


def _v1_initial(conn) -> None:
    metadata.create_all(conn, tables=V1_TABLES)


def _v2_indexes(conn) -> None:
    """Queue look-ups scan assignments by (project, protocol, task) and by annotator."""
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_assign_task ON assignments (project_id, protocol, task_id)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_assign_who ON assignments (annotator, project_id, protocol, status)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_llm_task ON llm_feedback (project_id, protocol, task_id)")


def _v3_queue_counts(conn) -> None:
    """Each task counts its active (open or done) assignments, indexed, so the next task of a queue is an
    index walk instead of a count over every assignment of the project at every answer."""
    for table in ("rating_tasks", "pair_tasks"):
        if "active" not in {c["name"] for c in inspect(conn).get_columns(table)}:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN active INTEGER NOT NULL DEFAULT 0")
        protocol = "ratings" if table == "rating_tasks" else "rankings"
        conn.exec_driver_sql(
            f"UPDATE {table} SET active = (SELECT COUNT(*) FROM assignments a WHERE a.protocol = '{protocol}' "
            f"AND a.task_id = {table}.id AND a.status IN ('open', 'done'))")
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS ix_{table}_queue ON {table} (project_id, active, id)")


def _v4_answer_versions(conn) -> None:
    """Comments, flags and versions on answers. Rows of one assignment (an undone answer and its re-answer) are
    numbered 1, 2, ... by id, so each (assignment, version) is unique and an edit can never fork a version."""
    have = {c["name"] for c in inspect(conn).get_columns("annotations")}
    for name, ddl in (("comment", "TEXT NOT NULL DEFAULT ''"), ("flags", "VARCHAR(100) NOT NULL DEFAULT ''"),
                      ("version", "INTEGER NOT NULL DEFAULT 1"), ("revises", "INTEGER")):
        if name not in have:
            conn.exec_driver_sql(f"ALTER TABLE annotations ADD COLUMN {name} {ddl}")
    conn.exec_driver_sql(
        "UPDATE annotations SET version = (SELECT COUNT(*) FROM annotations b "
        "WHERE b.assignment_id = annotations.assignment_id AND b.id <= annotations.id)")
    conn.exec_driver_sql("CREATE UNIQUE INDEX IF NOT EXISTS ux_annotation_version ON annotations (assignment_id, version)")


def _v5_task_items(conn) -> None:
    """Tasks indexed by their item: removing an import's items (or a project) checks and cascades to the tasks
    that reference each one, which without an index is a scan of every task per item."""
    for table in ("rating_tasks", "pair_tasks"):
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS ix_{table}_item ON {table} (item_id)")


def _v6_adjudications(conn) -> None:
    """Adjudicated labels of disagreements, a source of their own (``adjudicated``) beside humans and LLMs."""
    metadata.create_all(conn, tables=[adjudications])
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_adjudication_task ON adjudications "
                         "(project_id, protocol, task_id)")


def _v7_studies(conn) -> None:
    """Human studies: gold tasks, exclusions and their log, paired-design orders, study links and participants."""
    metadata.create_all(conn, tables=STUDY_TABLES)


def _v8_queue_order(conn) -> None:
    """Queue strategies: each task's ``priority`` (its rank in the project's stored order, 0 for all under
    ``random``), walked by (project_id, active, priority, id) so the next task costs what it did; the settings and
    the reasons live in their own tables."""
    for table in ("rating_tasks", "pair_tasks"):
        if "priority" not in {c["name"] for c in inspect(conn).get_columns(table)}:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS ix_{table}_order ON {table} "
                             "(project_id, active, priority, id)")
    metadata.create_all(conn, tables=[queue_settings, queue_reasons])


# Append only: a migration, once released, never changes.
MIGRATIONS: list[Callable] = [_v1_initial, _v2_indexes, _v3_queue_counts, _v4_answer_versions, _v5_task_items,
                              _v6_adjudications, _v7_studies, _v8_queue_order]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(select(func.coalesce(func.max(schema_version.c.version), 0))).scalar_one()


def migrate(db) -> int:
    """Bring the store to :data:`SCHEMA_VERSION`; returns the number of migrations applied."""
    with db.write() as conn:
        metadata.create_all(conn, tables=[schema_version])
        start = current_version(conn)
        if start > SCHEMA_VERSION:
            raise RuntimeError(f"the store has schema version {start}, newer than this code ({SCHEMA_VERSION})")
        for version in range(start + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version - 1](conn)
            conn.execute(schema_version.insert().values(version=version, applied_at=utcnow()))
        return SCHEMA_VERSION - start
