"""Projects: items with their responses, the rating and pair tasks made from them, and LLM feedback."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from itertools import combinations

import pandas as pd
from sqlalchemy import delete, func, insert, select, update

from sparse_feedback.formats import normalize_label
from sparse_feedback.protocols import flip, gives_orders, orders_from_final, orders_from_pairs
from sparse_feedback.store.limits import StoreError, check_name, check_text
from sparse_feedback.store.schema import (
    items, llm_feedback, pair_tasks, projects, rating_tasks, utcnow,
)

DEFAULT_GUIDELINE = """\
**Ratings.** Read the instruction (and its input, if any), then rate how well the response fulfils it:
1 = useless or harmful, 4 = acceptable with clear flaws, 7 = as good as a careful expert would write.
Judge accuracy first, then helpfulness, then clarity. Length alone earns nothing.

**Rankings.** Pick the better of the two responses by the same standard, or *equal* when neither
is clearly better. The left/right position means nothing: it is shuffled.
"""


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    guideline: str
    overlap: int
    n_items: int
    n_rating_tasks: int
    n_pair_tasks: int


IMPORTING_PREFIX = ".importing-"  # a project still being written: hidden, never served


def _insert_items(conn, pid: int, first: int, rows: list[tuple[str, str, list[str]]]) -> None:
    """One chunk of items with their rating and pair tasks, in bulk (ids read back by position)."""
    if not rows:
        return
    conn.execute(insert(items), [dict(project_id=pid, position=first + i, instruction=ins, input=inp, responses=resp)
                                 for i, (ins, inp, resp) in enumerate(rows)])
    ids = dict(conn.execute(select(items.c.position, items.c.id).where(
        items.c.project_id == pid, items.c.position >= first, items.c.position < first + len(rows))).all())
    ratings, pairs = [], []
    for i, (_, _, resp) in enumerate(rows):
        iid = ids[first + i]
        ratings += [{"project_id": pid, "item_id": iid, "response_index": k} for k in range(len(resp))]
        pairs += [{"project_id": pid, "item_id": iid, "index1": a, "index2": b}
                  for a, b in combinations(range(len(resp)), 2)]
    if ratings:
        conn.execute(insert(rating_tasks), ratings)
    if pairs:
        conn.execute(insert(pair_tasks), pairs)


class ProjectsMixin:
    db: object

    # ------------------------------------------------------------ projects
    def create_project_from_generation(self, generation: pd.DataFrame, name: str, overlap: int = 1,
                                       guideline: str | None = None, chunk: int = 250, callback=None,
                                       owner: str = "", before_publish=None) -> Project:
        """Items from a generation frame (``instruction, input, responses``), one rating task per response
        and one pair task per unordered pair of an item's responses.

        Written in chunks of ``chunk`` items, a short transaction each, so annotators' answers interleave with
        a large import instead of waiting for it. Until the last chunk the project has a hidden name (no one
        is offered it, no task is served); the rename that publishes it is one transaction, and a failed
        import removes what it wrote. ``callback(done, total, "import")`` reports progress. ``owner`` (e.g.
        ``job7-``) starts the hidden name, so a clean-up can spare the imports that are still being written.
        ``before_publish(hidden_name)`` writes what belongs with the items (an upload's LLM labels) while the
        project is still hidden: if it fails, nothing of the project is kept."""
        name = check_name("project name", name)
        if name.startswith(IMPORTING_PREFIX):
            raise StoreError(f"project names may not start with {IMPORTING_PREFIX!r}")
        if guideline is not None:
            check_text("guideline", guideline)
        if overlap < 1:
            raise StoreError("overlap must be at least 1")
        rows = [(str(ins), str(inp or ""), [str(r) for r in list(responses)]) for ins, inp, responses in
                generation[["instruction", "input", "responses"]].itertuples(index=False)]
        hidden = f"{IMPORTING_PREFIX}{owner}{uuid.uuid4().hex}"
        with self.db.write() as conn:
            if conn.execute(select(projects.c.id).where(projects.c.name == name)).first():
                raise StoreError(f"a project named {name!r} already exists")
            pid = conn.execute(insert(projects).values(
                name=hidden, guideline=DEFAULT_GUIDELINE if guideline is None else guideline, overlap=int(overlap),
                created_at=utcnow())).inserted_primary_key[0]
        try:
            for start in range(0, len(rows), max(1, chunk)):
                with self.db.write() as conn:
                    _insert_items(conn, pid, start, rows[start:start + chunk])
                if callback is not None:
                    callback(min(len(rows), start + chunk), len(rows), "import")
            if before_publish is not None:
                before_publish(hidden)
            with self.db.write() as conn:
                if conn.execute(select(projects.c.id).where(projects.c.name == name)).first():
                    raise StoreError(f"a project named {name!r} already exists")
                conn.execute(update(projects).where(projects.c.id == pid).values(name=name))
        except BaseException:
            self._delete_project(pid)
            raise
        return self.project(name)

    def _delete_project(self, pid: int, chunk: int = 5_000) -> None:
        """Remove a project's rows (an import that did not finish), children first, ``chunk`` rows a transaction
        (removing a large import must not hold the write lock any longer than writing it did)."""
        for table in (llm_feedback, rating_tasks, pair_tasks, items):
            while True:
                with self.db.write() as conn:
                    ids = select(table.c.id).where(table.c.project_id == pid).limit(chunk).scalar_subquery()
                    if conn.execute(delete(table).where(table.c.id.in_(ids))).rowcount < chunk:
                        break
        with self.db.write() as conn:
            conn.execute(delete(projects).where(projects.c.id == pid))

    def drop_unfinished_imports(self, owner: str = "", keep: tuple[str, ...] = ()) -> int:
        """Remove projects whose import was cut off (the process died mid-import); returns how many.
        ``owner``: only that import's; ``keep``: owners whose import is still being written."""
        with self.db.read() as conn:
            rows = conn.execute(select(projects.c.id, projects.c.name).where(
                projects.c.name.like(f"{IMPORTING_PREFIX}%"))).all()
        spared = tuple(IMPORTING_PREFIX + o for o in keep if o)
        pids = [pid for pid, name in rows if name.startswith(IMPORTING_PREFIX + owner)
                and not (spared and name.startswith(spared))]
        for pid in pids:
            self._delete_project(pid)
        return len(pids)

    def projects(self) -> list[Project]:
        with self.db.read() as conn:
            names = conn.execute(select(projects.c.name).where(projects.c.name.not_like(f"{IMPORTING_PREFIX}%"))
                                 .order_by(projects.c.id)).scalars().all()
        return [self.project(n) for n in names]

    def project(self, name: str) -> Project:
        name = check_name("project", name)
        with self.db.read() as conn:
            row = conn.execute(select(projects).where(projects.c.name == name)).first()
            if row is None:
                raise StoreError(f"no project named {name!r}")
            count = lambda t: conn.execute(  # noqa: E731
                select(func.count()).select_from(t).where(t.c.project_id == row.id)).scalar_one()
            return Project(row.id, row.name, row.guideline, row.overlap, count(items), count(rating_tasks),
                           count(pair_tasks))

    def guideline(self, name: str) -> str:
        """The project's guideline alone (one indexed read; :meth:`project` also counts its tasks)."""
        name = check_name("project", name)
        with self.db.read() as conn:
            text = conn.execute(select(projects.c.guideline).where(projects.c.name == name)).scalar()
        if text is None:
            raise StoreError(f"no project named {name!r}")
        return text

    def set_guideline(self, name: str, guideline: str) -> None:
        self._update_project(name, guideline=check_text("guideline", guideline))

    def set_overlap(self, name: str, overlap: int) -> None:
        if int(overlap) < 1:
            raise StoreError("overlap must be at least 1")
        self._update_project(name, overlap=int(overlap))

    def _update_project(self, name: str, **values) -> None:
        name = check_name("project", name)
        with self.db.write() as conn:
            if conn.execute(update(projects).where(projects.c.name == name).values(**values)).rowcount == 0:
                raise StoreError(f"no project named {name!r}")

    def items_frame(self, name: str) -> pd.DataFrame:
        """The project's items as a generation frame: ``instruction, input, responses``."""
        pid = self.project(name).id
        with self.db.read() as conn:
            rows = conn.execute(select(items.c.instruction, items.c.input, items.c.responses)
                                .where(items.c.project_id == pid).order_by(items.c.position)).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=["instruction", "input", "responses"], dtype=object)

    # ------------------------------------------------------------ LLM feedback
    def _task_keys(self, conn, pid: int):
        """Maps from texts to task ids: (instruction, input, response) and (instruction, input, r1, r2)."""
        its = {r.id: r for r in conn.execute(select(items).where(items.c.project_id == pid))}
        ratings = {}
        for t in conn.execute(select(rating_tasks).where(rating_tasks.c.project_id == pid)):
            it = its[t.item_id]
            ratings[(it.instruction, it.input, it.responses[t.response_index])] = t.id
        pairs = {}
        for t in conn.execute(select(pair_tasks).where(pair_tasks.c.project_id == pid)):
            it = its[t.item_id]
            r1, r2 = it.responses[t.index1], it.responses[t.index2]
            pairs.setdefault((it.instruction, it.input, r1, r2), (t.id, False))
            pairs.setdefault((it.instruction, it.input, r2, r1), (t.id, True))
        return ratings, pairs

    def import_llm_ratings(self, name: str, feedback: pd.DataFrame, source_model: str = "llm", **writing) -> int:
        """Store rating feedback (``instruction, input, output, rating``) as the LLM source; returns rows
        matched. Optional columns ``model`` and ``raw_answer(s)`` are kept; a rerun replaces, never doubles.
        ``writing`` (chunk, callback): as :meth:`_import_llm` takes them."""
        return self._import_llm(name, feedback, "ratings", source_model, **writing)

    def import_llm_rankings(self, name: str, feedback: pd.DataFrame, source_model: str = "llm", **writing) -> int:
        """Store ranking feedback (``instruction, input, output1, output2, feedback``), either order.

        The judge's own output (one row per pair with ``position_ab``/``position_ba``) is stored as the two
        orders it asked, each with its raw answer; rows per judged order are stored as they are; a file with
        one final label per pair (no orders given) is stored as the two orders that give that label."""
        if "position_ab" in feedback.columns:
            feedback = orders_from_pairs(feedback)
        elif not gives_orders(feedback):
            feedback = orders_from_final(feedback)
        return self._import_llm(name, feedback, "rankings", source_model, **writing)

    def _import_llm(self, name: str, feedback: pd.DataFrame, protocol: str, source_model: str,
                    chunk: int | None = None, callback=None) -> int:
        """Match the rows to the project's tasks (outside any write lock), then replace those judgements: in one
        transaction, or (``chunk``, for a project still hidden by its import) ``chunk`` rows a transaction,
        ``callback(done, total, "labels")`` after each."""
        pid = self.project(name).id
        with self.db.read() as conn:
            rating_keys, pair_keys = self._task_keys(conn, pid)
        raw_col = next((c for c in ("raw_answers", "raw_answer") if c in feedback.columns), None)
        rows = []
        for rec in feedback.to_dict(orient="records"):
            model = str(rec.get("model") or source_model)
            raw = rec.get(raw_col) if raw_col else None
            raw = [] if raw is None or (isinstance(raw, float) and raw != raw) else raw
            raw = [str(x) for x in raw] if isinstance(raw, (list, tuple)) else [str(raw)]
            if protocol == "ratings":
                tid = rating_keys.get((rec["instruction"], rec["input"], rec["output"]))
                if tid is None:
                    continue
                rows.append(dict(task_id=tid, reversed=False, value=str(int(rec["rating"])),
                                 source_model=model, raw_answers=raw))
            else:
                hit = pair_keys.get((rec["instruction"], rec["input"], rec["output1"], rec["output2"]))
                label = normalize_label(rec["feedback"])
                if hit is None or label is None:
                    continue
                tid, rev = hit
                rows.append(dict(task_id=tid, reversed=rev, value=flip(label) if rev else label,
                                 source_model=model, raw_answers=raw))
        # A pair listed twice in one file (also in both orientations) is one judgement per order: the last.
        rows = list({(r["task_id"], r["source_model"], r["reversed"]): r for r in rows}.values())
        now, step = utcnow(), chunk or max(1, len(rows))
        for start in range(0, len(rows), step):
            batch = rows[start:start + step]
            groups: dict[tuple, list[int]] = {}
            for r in batch:
                groups.setdefault((r["source_model"], r["reversed"]), []).append(r["task_id"])
            with self.db.write() as conn:
                for (model, rev), ids in groups.items():  # what a rerun replaces
                    for i in range(0, len(ids), 5_000):
                        conn.execute(delete(llm_feedback).where(
                            llm_feedback.c.protocol == protocol, llm_feedback.c.source_model == model,
                            llm_feedback.c.reversed == rev, llm_feedback.c.task_id.in_(ids[i:i + 5_000])))
                conn.execute(insert(llm_feedback), [
                    {**r, "project_id": pid, "protocol": protocol, "created_at": now} for r in batch])
            if callback is not None and chunk:
                callback(start + len(batch), len(rows), "labels")
        if rows:  # the disagreement order read the old labels: the runner recomputes it
            from sparse_feedback.store.queue import mark_stale  # (queue reads the annotation module, which reads this)

            with self.db.write() as conn:
                mark_stale(conn, pid)
        return len(rows)

    def llm_feedback_for(self, protocol: str, task_id: int) -> list[dict]:
        """The LLM judgements of one task (un-randomised terms): ``model, value, reversed, raw_answers``."""
        with self.db.read() as conn:
            rows = conn.execute(select(llm_feedback).where(
                llm_feedback.c.protocol == protocol, llm_feedback.c.task_id == task_id
            ).order_by(llm_feedback.c.source_model, llm_feedback.c.reversed)).all()
        return [{"model": r.source_model, "value": r.value, "reversed": bool(r.reversed),
                 "raw_answers": r.raw_answers} for r in rows]
