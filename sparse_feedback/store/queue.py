"""A project's queue strategy and its stored order: what the background job reads and writes, and what the
Admin tab shows. The order is each task's ``priority`` (its rank; schema v8), so a submit reads it for free:
the next task is the first of the regular pool by (fewest active answers, priority, id)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import delete, insert, select, text, update

from sparse_feedback.store.annotate import NOT_GOLD
from sparse_feedback.store.limits import StoreError, check_name, check_strategy
from sparse_feedback.store.schema import (
    items, pair_tasks, projects, queue_reasons, queue_settings, rating_tasks, utcnow,
)

SETTING_FIELDS = ("strategy", "reward_model", "llm_source", "computed_at", "computed_strategy", "stale", "message")
ORDER_CHUNK = 2_000  # priorities written a transaction (a submit waits for one at most)
_TABLES = {"ratings": rating_tasks, "rankings": pair_tasks}


def mark_stale(conn, pid: int) -> None:
    """The project's order inputs changed now (new LLM labels, a retrained RM): its order is stale until one
    computed from inputs read after now is written."""
    conn.execute(update(queue_settings).where(queue_settings.c.project_id == pid)
                 .values(stale=True, updated_at=utcnow()))


def _changed(read_at):
    """``stale`` for an order whose inputs were read at ``read_at``: whether the setting or inputs changed since."""
    return False if read_at is None else queue_settings.c.updated_at > read_at


def _due(conn, answers: int, age_s: float, project: str | None = None) -> list[str]:
    """:meth:`QueueMixin.due_queue_orders` in ``conn`` (of one ``project`` only, when given)."""
    query = select(projects.c.id, projects.c.name, *[queue_settings.c[k] for k in (
        "strategy", "computed_strategy", "computed_at", "stale", "message")]).join(
        queue_settings, queue_settings.c.project_id == projects.c.id)
    if project is not None:
        query = query.where(projects.c.name == project)
    due, now = [], utcnow()
    for r in conn.execute(query).all():
        if r.strategy == "random" and r.computed_strategy in (None, "random"):
            continue
        if r.stale:
            due.append(r.name)
        elif r.strategy == r.computed_strategy == "coverage" and not r.message.startswith("failed") \
                and (now - r.computed_at).total_seconds() >= age_s:
            new = conn.execute(text(  # counted up to ``answers`` only
                "SELECT COUNT(*) FROM (SELECT 1 FROM annotations WHERE project_id = :pid AND created_at > :t "
                "AND revises IS NULL LIMIT :n) s"), dict(pid=r.id, t=r.computed_at, n=max(1, answers))).scalar_one()
            if new >= max(1, answers):
                due.append(r.name)
    return due


class QueueMixin:
    db: object

    def _pid(self, conn, project: str) -> int:
        project = check_name("project", project)
        pid = conn.execute(text("SELECT id FROM projects WHERE name = :n"), dict(n=project)).scalar()
        if pid is None:
            raise StoreError(f"no project named {project!r}")
        return pid

    def queue_strategy(self, project: str) -> dict:
        """``strategy, reward_model, llm_source, computed_at, computed_strategy, stale, message`` (``random``,
        never computed, when the project has no setting yet)."""
        with self.db.read() as conn:
            row = conn.execute(select(queue_settings).where(queue_settings.c.project_id == self._pid(conn, project))
                               ).first()
        if row is None:
            return dict(strategy="random", reward_model="", llm_source="", computed_at=None, computed_strategy=None,
                        stale=False, message="")
        return {k: row._mapping[k] for k in SETTING_FIELDS}

    def queue_strategies(self, strategy: str) -> dict[str, dict]:
        """Every visible project set to ``strategy``: its name -> its setting (as :meth:`queue_strategy`), in one
        read (the runner's watch asks every few seconds)."""
        from sparse_feedback.store.projects import IMPORTING_PREFIX

        with self.db.read() as conn:
            rows = conn.execute(select(projects.c.name, *[queue_settings.c[k] for k in SETTING_FIELDS]).join(
                queue_settings, queue_settings.c.project_id == projects.c.id).where(
                queue_settings.c.strategy == strategy, projects.c.name.not_like(f"{IMPORTING_PREFIX}%"))
                .order_by(projects.c.id)).all()
        return {r.name: {k: r._mapping[k] for k in SETTING_FIELDS} for r in rows}

    def set_queue_strategy(self, project: str, strategy: str, reward_model: str | None = None,
                           llm_source: str | None = None) -> dict:
        """Choose the project's strategy (and the RM / LLM source it reads); the stored order is then stale
        until the selection job writes the new one. Returns the setting."""
        check_strategy(strategy)
        if strategy == "uncertainty" and not (reward_model or self.queue_strategy(project)["reward_model"]):
            raise StoreError("the uncertainty strategy needs a reward model: choose one")
        now = utcnow()
        with self.db.write() as conn:
            pid = self._pid(conn, project)
            values = dict(strategy=strategy, updated_at=now, stale=True)
            if reward_model is not None:
                values["reward_model"] = str(reward_model)
            if llm_source is not None:
                values["llm_source"] = str(llm_source)
            if conn.execute(update(queue_settings).where(queue_settings.c.project_id == pid).values(**values)
                            ).rowcount == 0:
                conn.execute(insert(queue_settings).values(project_id=pid, message="", **{
                    "reward_model": "", "llm_source": "", **values}))
        return self.queue_strategy(project)

    def mark_queue_stale(self, project: str) -> None:
        """The order's inputs changed (new LLM labels, a retrained RM): the runner recomputes it
        (:meth:`due_queue_orders`)."""
        with self.db.write() as conn:
            mark_stale(conn, self._pid(conn, project))

    def due_queue_orders(self, answers: int, age_s: float) -> list[str]:
        """Projects whose stored order the runner should recompute: stale ones (the setting or its inputs changed
        after the order's inputs were read), and coverage orders computed ``age_s`` seconds ago or more that
        ``answers`` human answers have reached since (the floor bounds the cost under a stream of answers; the
        order then lags them by ``age_s`` plus one computation). A random setting with nothing else stored needs
        none, and a failed computation is retried on the next change, not on every look."""
        with self.db.read() as conn:
            return _due(conn, answers, age_s)

    def start_queue_job(self, project: str, kind: str, answers: int, age_s: float) -> int | None:
        """A running job row for the project's order if it is due (as :meth:`due_queue_orders` says, asked when
        the row is claimed) and none is running; else None."""
        return self.start_job_unless_running(kind, {"project": project},
                                             needed=lambda conn: bool(_due(conn, answers, age_s, project)))

    def selection_inputs(self, project: str) -> dict[str, pd.DataFrame]:
        """Everything a strategy reads, in id terms (see :mod:`sparse_feedback.study.selection`): ``pairs``,
        ``ratings_tasks``, ``orders`` (LLM rankings per order, pair terms, with ``model``), ``llm_ratings``
        (``item, index, rating, model``), ``answers`` (human answers per item) and ``items`` (texts)."""
        with self.db.read() as conn:
            pid = self._pid(conn, project)
            frame = lambda sql, cols: pd.DataFrame([tuple(r) for r in conn.execute(text(sql), dict(pid=pid))],  # noqa
                                                   columns=cols)
            pairs = frame("SELECT id, item_id, index1, index2 FROM pair_tasks WHERE project_id = :pid ORDER BY id",
                          ["task_id", "item", "index1", "index2"])
            tasks = frame("SELECT id, item_id, response_index FROM rating_tasks WHERE project_id = :pid ORDER BY id",
                          ["task_id", "item", "index"])
            orders = frame("SELECT task_id, reversed, value, source_model FROM llm_feedback WHERE project_id = :pid "
                           "AND protocol = 'rankings' ORDER BY id", ["task_id", "reversed", "value", "model"])
            llm_ratings = frame(
                "SELECT t.item_id, t.response_index, f.value, f.source_model FROM llm_feedback f JOIN rating_tasks t "
                "ON t.id = f.task_id WHERE f.project_id = :pid AND f.protocol = 'ratings' ORDER BY f.id",
                ["item", "index", "rating", "model"])
            answers = frame(
                "SELECT COALESCE(r.item_id, p.item_id), COUNT(*) FROM annotations a "
                "LEFT JOIN rating_tasks r ON a.protocol = 'ratings' AND r.id = a.task_id "
                "LEFT JOIN pair_tasks p ON a.protocol = 'rankings' AND p.id = a.task_id "
                "WHERE a.project_id = :pid AND NOT a.undone AND a.revises IS NULL "
                "GROUP BY COALESCE(r.item_id, p.item_id)", ["item", "answers"])
            texts = conn.execute(select(items.c.id, items.c.instruction, items.c.input, items.c.responses)
                                 .where(items.c.project_id == pid).order_by(items.c.id)).all()
        orders["reversed"] = orders["reversed"].astype(bool)
        llm_ratings["rating"] = pd.to_numeric(llm_ratings["rating"]).astype(int)
        return dict(pairs=pairs, rating_tasks=tasks, orders=orders, llm_ratings=llm_ratings, answers=answers,
                    items=pd.DataFrame([tuple(r) for r in texts],
                                       columns=["item", "instruction", "input", "responses"]))

    def write_queue_order(self, project: str, order: pd.DataFrame, strategy: str, message: str = "",
                          chunk: int = ORDER_CHUNK, callback=None, read_at=None) -> int:
        """Store an order (``protocol, task_id, rank, score, reason``, both protocols) as the tasks' priorities
        and their reasons, ``chunk`` tasks a transaction (a submit waits for one chunk at most); the setting is
        then computed, as of ``read_at`` (when its inputs were read; default now), and fresh unless the setting
        or its inputs changed after ``read_at``. Returns the tasks written."""
        check_strategy(strategy)
        rows = order[["protocol", "task_id", "rank", "score", "reason"]].to_dict(orient="records")
        with self.db.read() as conn:
            pid = self._pid(conn, project)
        for start in range(0, len(rows), chunk):
            batch = rows[start:start + chunk]
            with self.db.write() as conn:
                for protocol, table in _TABLES.items():
                    part = [dict(tid=int(r["task_id"]), p=int(r["rank"])) for r in batch if r["protocol"] == protocol]
                    if part:  # each chunk replaces its own tasks' reasons: no long delete of them all first
                        conn.execute(delete(queue_reasons).where(queue_reasons.c.protocol == protocol,
                                                                 queue_reasons.c.task_id.in_([r["tid"] for r in part])))
                        conn.execute(text(f"UPDATE {table.name} SET priority = :p WHERE id = :tid AND project_id = "
                                          ":pid"), [dict(r, pid=pid) for r in part])
                conn.execute(insert(queue_reasons), [
                    dict(project_id=pid, protocol=r["protocol"], task_id=int(r["task_id"]), rank=int(r["rank"]),
                         score=float(r["score"]) if pd.notna(r["score"]) and abs(r["score"]) != float("inf") else 0.0,
                         reason=str(r["reason"])) for r in batch])
            if callback is not None:
                callback(start + len(batch), len(rows), "order")
        with self.db.write() as conn:
            conn.execute(update(queue_settings).where(queue_settings.c.project_id == pid).values(
                computed_at=read_at or utcnow(), computed_strategy=strategy, message=message, stale=_changed(read_at)))
        return len(rows)

    def record_queue_message(self, project: str, message: str, read_at=None) -> None:
        """The last computation's outcome; with ``read_at`` (a failed one's start), the order is no longer stale
        unless its inputs changed after that, so the runner does not retry a failure before something changes."""
        with self.db.write() as conn:
            conn.execute(update(queue_settings).where(queue_settings.c.project_id == self._pid(conn, project))
                         .values(message=message, **({} if read_at is None else {"stale": _changed(read_at)})))

    def queue_preview(self, project: str, protocol: str, n: int = 20) -> pd.DataFrame:
        """The next ``n`` tasks of the regular pool (gold items left out: they keep their own rate) in the order the
        queue serves them (fewest active answers, then the stored order), with ``rank``, ``answers`` (active) and
        ``reason`` — the Admin tab's "why"."""
        table = _TABLES[protocol]
        with self.db.read() as conn:
            pid = self._pid(conn, project)
            k = conn.execute(text("SELECT overlap FROM projects WHERE id = :pid"), dict(pid=pid)).scalar_one()
            shown = ("t.response_index" if protocol == "ratings" else "t.index1, t.index2")
            rows = conn.execute(text(
                f"SELECT t.id, t.item_id, {shown}, t.active, t.priority, q.reason FROM {table.name} t "
                "LEFT JOIN queue_reasons q ON q.protocol = :protocol AND q.task_id = t.id "
                f"WHERE t.project_id = :pid AND t.active < :k AND {NOT_GOLD} ORDER BY t.active, t.priority, t.id "
                "LIMIT :n"),
                dict(pid=pid, protocol=protocol, k=k, n=int(n))).all()
            ids = sorted({r[1] for r in rows})
            texts = {r.id: r for r in conn.execute(select(items.c.id, items.c.instruction, items.c.responses)
                                                   .where(items.c.id.in_(ids)))} if ids else {}
        out = []
        for r in rows:
            it = texts[r[1]]
            what = (it.responses[r[2]] if protocol == "ratings"
                    else f"{it.responses[r[2]][:60]} | {it.responses[r[3]][:60]}")
            out.append(dict(task=r[0], instruction=it.instruction[:80], response=what[:125], answers=r[-3],
                            rank=r[-2], reason=r[-1] or "fewest answers first, then import order"))
        return pd.DataFrame(out, columns=["task", "instruction", "response", "answers", "rank", "reason"])
