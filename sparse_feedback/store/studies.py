"""What a human study stores: its settings, gold tasks, exclusions (with their log), study links and participants.

Only storage and look-ups live here; what to serve, how to score annotators and who to flag is
:mod:`sparse_feedback.study`. Every change an admin makes is also a row of ``study_log`` (who, when, what).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import delete, func, insert, select, update

from sparse_feedback.store.answers import latest_only
from sparse_feedback.store.limits import StoreError, check_name, check_text
from sparse_feedback.store.schema import (
    annotations, excluded, gold, items, llm_feedback, pair_tasks, participants, projects, rating_tasks, study_links,
    study_log, study_settings, utcnow,
)

GOLD_COLUMNS = ["protocol", "task_id", "item", "response_index", "index1", "index2", "expected"]


@dataclass(frozen=True)
class StudySettings:
    gold_every: int = 0  # one gold task in every ``gold_every`` served; 0: no gold
    paired: bool = False  # each annotator rates and ranks the same items
    fast_seconds: float = 0.0  # answers faster than this are flagged in the quality table; 0: off


@dataclass(frozen=True)
class StudyLink:
    id: int
    project: str
    quota: int
    completion_code: str
    redirect_url: str
    revoked: bool


def log(conn, project_id: int, actor: str, action: str, target: str = "", detail: str = "") -> None:
    conn.execute(insert(study_log).values(project_id=project_id, actor=actor, action=action, target=target,
                                          detail=detail, created_at=utcnow()))


def settings_row(conn, project_id: int) -> StudySettings:
    row = conn.execute(select(study_settings).where(study_settings.c.project_id == project_id)).first()
    return StudySettings() if row is None else StudySettings(int(row.gold_every), bool(row.paired),
                                                             float(row.fast_seconds))


class StudiesMixin:
    db: object

    # ------------------------------------------------------------ settings
    def study_settings(self, project: str) -> StudySettings:
        with self.db.read() as conn:
            return settings_row(conn, self._project_row(conn, project).id)

    def set_study_settings(self, project: str, actor: str, gold_every: int | None = None, paired: bool | None = None,
                           fast_seconds: float | None = None) -> StudySettings:
        """Change some of the project's study settings (None keeps one); logged with ``actor``."""
        actor = check_name("admin", actor)
        with self.db.write() as conn:
            pid = self._project_row(conn, project).id
            old = settings_row(conn, pid)
            new = StudySettings(old.gold_every if gold_every is None else int(gold_every),
                                old.paired if paired is None else bool(paired),
                                old.fast_seconds if fast_seconds is None else float(fast_seconds))
            if new.gold_every < 0 or new.fast_seconds < 0:
                raise StoreError("the gold rate and the fast-answer threshold are 0 (off) or more")
            conn.execute(delete(study_settings).where(study_settings.c.project_id == pid))
            conn.execute(insert(study_settings).values(project_id=pid, gold_every=new.gold_every, paired=new.paired,
                                                       fast_seconds=new.fast_seconds))
            if new != old:
                log(conn, pid, actor, "settings", detail=f"gold 1 in {new.gold_every or 'none'}, paired {new.paired}, "
                                                         f"fast < {new.fast_seconds:g} s")
        return new

    # ------------------------------------------------------------ gold
    def task_keys(self, project: str):
        """(ratings, pairs) maps from texts to task ids, as LLM feedback is matched (pairs: (id, reversed))."""
        with self.db.read() as conn:
            return self._task_keys(conn, self._project_row(conn, project).id)

    def set_gold(self, project: str, actor: str, expected: list[tuple[str, int, str]]) -> int:
        """Mark tasks as gold with their expected answer, ``(protocol, task_id, value)`` in stored terms ('1'..'7',
        '(a)'/'(b)'/'equal'); a task already gold gets the new answer. One transaction; returns how many."""
        actor = check_name("admin", actor)
        with self.db.write() as conn:
            pid = self._project_row(conn, project).id
            for protocol, task_id, value in expected:
                table = rating_tasks if protocol == "ratings" else pair_tasks
                item_id = conn.execute(select(table.c.item_id).where(table.c.id == int(task_id),
                                                                     table.c.project_id == pid)).scalar()
                if item_id is None:
                    raise StoreError(f"no {protocol} task {task_id} in project {project!r}")
                conn.execute(delete(gold).where(gold.c.protocol == protocol, gold.c.task_id == int(task_id)))
                conn.execute(insert(gold).values(project_id=pid, item_id=item_id, protocol=protocol,
                                                 task_id=int(task_id), expected=str(value)))
            if expected:
                log(conn, pid, actor, "gold", detail=f"{len(expected)} gold tasks set")
        return len(expected)

    def task_at(self, project: str, protocol: str, item: int, responses: tuple[int, ...]) -> int:
        """The id of the task of item ``item`` (its position) on ``responses`` (one index for a rating task, two for
        a pair, in either order)."""
        with self.db.read() as conn:
            pid = self._project_row(conn, project).id
            item_id = conn.execute(select(items.c.id).where(items.c.project_id == pid,
                                                            items.c.position == int(item))).scalar()
            if protocol == "ratings" and len(responses) == 1:
                found = conn.execute(select(rating_tasks.c.id).where(
                    rating_tasks.c.item_id == item_id, rating_tasks.c.response_index == int(responses[0]))).scalar()
            elif protocol == "rankings" and len(responses) == 2:
                low, high = sorted(int(r) for r in responses)
                found = conn.execute(select(pair_tasks.c.id).where(
                    pair_tasks.c.item_id == item_id, pair_tasks.c.index1 == low, pair_tasks.c.index2 == high)).scalar()
            else:
                raise StoreError("a rating task names one response, a pair two")
        if found is None:
            raise StoreError(f"project {project!r} has no {protocol} task for item {item} and responses {responses}")
        return found

    def clear_gold(self, project: str, actor: str) -> int:
        """Unmark every gold task of the project (their items return to the regular pool); logged."""
        actor = check_name("admin", actor)
        with self.db.write() as conn:
            pid = self._project_row(conn, project).id
            n = conn.execute(delete(gold).where(gold.c.project_id == pid)).rowcount
            log(conn, pid, actor, "gold cleared", detail=f"{n} gold tasks unmarked")
        return n

    def gold_tasks(self, project: str) -> pd.DataFrame:
        """The gold tasks: ``protocol, task_id, item`` (position), the response(s) and ``expected``."""
        with self.db.read() as conn:
            pid = self._project_row(conn, project).id
            rows = []
            for protocol, table, cols in (("ratings", rating_tasks, ("response_index",)),
                                          ("rankings", pair_tasks, ("index1", "index2"))):
                for r in conn.execute(select(gold.c.task_id, gold.c.expected, items.c.position,
                                             *(table.c[c] for c in cols))
                                      .join(table, table.c.id == gold.c.task_id)
                                      .join(items, items.c.id == table.c.item_id)
                                      .where(gold.c.project_id == pid, gold.c.protocol == protocol)
                                      .order_by(items.c.position, gold.c.task_id)):
                    m = r._mapping
                    rows.append(dict(protocol=protocol, task_id=m["task_id"], item=m["position"],
                                     response_index=m.get("response_index"), index1=m.get("index1"),
                                     index2=m.get("index2"), expected=m["expected"]))
        return pd.DataFrame(rows, columns=GOLD_COLUMNS)

    # ------------------------------------------------------------ exclusion
    def excluded_annotators(self, project: str) -> dict[str, str]:
        """Excluded annotators of the project and why."""
        with self.db.read() as conn:
            pid = self._project_row(conn, project).id
            return dict(conn.execute(select(excluded.c.annotator, excluded.c.reason)
                                     .where(excluded.c.project_id == pid).order_by(excluded.c.annotator)).all())

    def set_excluded(self, project: str, actor: str, annotators, exclude: bool, reason: str = "") -> list[str]:
        """Exclude (or include again) annotators: their answers stay stored, out of (or back in) exports, training
        and dashboards. One log row per annotator whose state changed; returns those names."""
        actor, reason = check_name("admin", actor), check_text("reason", reason or "", 500)
        names = sorted({check_name("annotator", a) for a in annotators})
        changed = []
        with self.db.write() as conn:
            pid = self._project_row(conn, project).id
            now_out = set(conn.execute(select(excluded.c.annotator).where(excluded.c.project_id == pid)).scalars())
            for name in names:
                if exclude and name not in now_out:
                    conn.execute(insert(excluded).values(project_id=pid, annotator=name, reason=reason))
                elif not exclude and name in now_out:
                    conn.execute(delete(excluded).where(excluded.c.project_id == pid, excluded.c.annotator == name))
                else:
                    continue
                log(conn, pid, actor, "exclude" if exclude else "include", target=name, detail=reason)
                changed.append(name)
        return changed

    def study_log(self, project: str) -> pd.DataFrame:
        """Every study change on the project: ``created_at, actor, action, target, detail``, oldest first."""
        return self._rows(project, study_log, ["created_at", "actor", "action", "target", "detail"])

    def _rows(self, project: str, table, columns: list[str]) -> pd.DataFrame:
        """``columns`` of the project's rows of ``table``, in the order written."""
        with self.db.read() as conn:
            pid = self._project_row(conn, project).id
            rows = conn.execute(select(*(table.c[c] for c in columns)).where(table.c.project_id == pid)
                                .order_by(table.c.id)).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=columns)

    # ------------------------------------------------------------ everything a study's quality figures read
    def study_answers(self, project: str) -> pd.DataFrame:
        """Every current answer (latest version, not undone) with what scoring needs: ``annotator, protocol,
        task_id, item_id, response_index`` (ratings) / ``index1, index2`` (rankings), ``value`` (stored terms),
        ``swapped, seconds, created_at, gold`` (the expected answer, or None) and ``excluded``. Gold items and
        excluded annotators included: this is the study's view, never the data's."""
        with self.db.read() as conn:
            pid = self._project_row(conn, project).id
            out = set(conn.execute(select(excluded.c.annotator).where(excluded.c.project_id == pid)).scalars())
            expected = {(p, t): v for p, t, v in conn.execute(select(gold.c.protocol, gold.c.task_id, gold.c.expected)
                                                               .where(gold.c.project_id == pid))}
            rows = []
            for protocol, table, cols in (("ratings", rating_tasks, ("response_index",)),
                                          ("rankings", pair_tasks, ("index1", "index2"))):
                rows += [dict(r._mapping, protocol=protocol) for r in conn.execute(
                    select(annotations.c.id.label("annotation_id"), annotations.c.annotator, annotations.c.task_id,
                           annotations.c.value, annotations.c.swapped, annotations.c.seconds,
                           annotations.c.created_at, table.c.item_id, *(table.c[c] for c in cols))
                    .join(table, table.c.id == annotations.c.task_id)
                    .where(annotations.c.project_id == pid, annotations.c.protocol == protocol, latest_only()))]
        columns = ["annotation_id", "annotator", "protocol", "task_id", "item_id", "response_index", "index1", "index2",
                   "value", "swapped", "seconds", "created_at"]
        frame = pd.DataFrame(sorted(rows, key=lambda r: r["annotation_id"]), columns=columns)
        frame["gold"] = [expected.get((p, t)) for p, t in zip(frame["protocol"], frame["task_id"])]
        frame["excluded"] = frame["annotator"].isin(out)
        return frame

    def llm_values(self, project: str) -> pd.DataFrame:
        """The LLM judge's answers per task: ``protocol, task_id, source_model, reversed, value`` (stored terms)."""
        return self._rows(project, llm_feedback, ["protocol", "task_id", "source_model", "reversed", "value"])

    # ------------------------------------------------------------ study links and participants
    def add_study_link(self, project: str, actor: str, token_hash: str, quota: int, completion_code: str,
                       redirect_url: str = "") -> int:
        actor = check_name("admin", actor)
        if int(quota) < 1:
            raise StoreError("a study link's quota is at least 1 answer")
        code = check_name("completion code", completion_code)
        url = check_text("completion URL", redirect_url or "", 2_000).strip()
        if url and not url.startswith(("https://", "http://")):
            raise StoreError("the completion URL must start with https:// or http://")
        with self.db.write() as conn:
            pid = self._project_row(conn, project).id
            link_id = conn.execute(insert(study_links).values(
                project_id=pid, token_hash=token_hash, quota=int(quota), completion_code=code, redirect_url=url,
                revoked=False, created_by=actor, created_at=utcnow())).inserted_primary_key[0]
            log(conn, pid, actor, "study link", target=f"link {link_id}", detail=f"quota {int(quota)}")
        return link_id

    def revoke_study_link(self, project: str, actor: str, link_id: int) -> None:
        actor = check_name("admin", actor)
        with self.db.write() as conn:
            pid = self._project_row(conn, project).id
            done = conn.execute(update(study_links).where(study_links.c.id == int(link_id),
                                                          study_links.c.project_id == pid).values(revoked=True))
            if done.rowcount == 0:
                raise StoreError(f"no study link {link_id} in project {project!r}")
            log(conn, pid, actor, "revoke link", target=f"link {link_id}")

    def study_links(self, project: str) -> pd.DataFrame:
        """The project's links: ``link, quota, completion_code, redirect_url, revoked, participants, completed``
        (never a token: only its hash is stored)."""
        with self.db.read() as conn:
            pid = self._project_row(conn, project).id
            rows = conn.execute(
                select(study_links.c.id, study_links.c.quota, study_links.c.completion_code, study_links.c.redirect_url,
                       study_links.c.revoked, func.count(participants.c.id),
                       func.count(participants.c.completed_at))
                .select_from(study_links.outerjoin(participants, participants.c.link_id == study_links.c.id))
                .where(study_links.c.project_id == pid).group_by(study_links.c.id).order_by(study_links.c.id)).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=["link", "quota", "completion_code", "redirect_url",
                                                               "revoked", "participants", "completed"])

    def study_link(self, token_hash: str) -> StudyLink | None:
        """The link with this token hash (revoked ones too), or None."""
        with self.db.read() as conn:
            r = conn.execute(select(study_links, projects.c.name)
                             .join(projects, projects.c.id == study_links.c.project_id)
                             .where(study_links.c.token_hash == token_hash)).first()
        if r is None:
            return None
        return StudyLink(r.id, r.name, int(r.quota), r.completion_code, r.redirect_url or "", bool(r.revoked))

    def enter_study(self, link_id: int, participant_id: str, annotator: str, study_id: str = "",
                    session_id: str = "") -> str:
        """The annotator name of this participant on this link: created on first entry, the same one after (a
        return continues, never restarts). Returns the stored name (the first entry's)."""
        participant_id = check_name("participant id", participant_id)
        known = (participants.c.link_id == int(link_id)) & (participants.c.participant_id == participant_id)
        with self.db.read() as conn:  # every request of a participant comes here: a read, not the write lock
            name = conn.execute(select(participants.c.annotator).where(known)).scalar()
        if name is not None:
            return name
        with self.db.write() as conn:
            name = conn.execute(select(participants.c.annotator).where(known)).scalar()
            if name is not None:
                return name
            conn.execute(insert(participants).values(
                link_id=int(link_id), participant_id=participant_id, annotator=check_name("annotator", annotator),
                study_id=(study_id or "")[:200], session_id=(session_id or "")[:200], started_at=utcnow()))
        return annotator

    def participant_status(self, annotator: str) -> dict | None:
        """A participant's ``project, quota, done`` (answers so far), ``completion_code, redirect_url,
        completed_at, revoked`` (their link's); None for anyone who did not come by a study link."""
        with self.db.read() as conn:
            r = conn.execute(select(study_links.c.project_id, projects.c.name, study_links.c.quota,
                                    study_links.c.completion_code, study_links.c.redirect_url,
                                    participants.c.completed_at, study_links.c.revoked)
                             .join(participants, participants.c.link_id == study_links.c.id)
                             .join(projects, projects.c.id == study_links.c.project_id)
                             .where(participants.c.annotator == annotator)).first()
            if r is None:
                return None
            done = self.answers_done(conn, r.project_id, annotator)
        return dict(project=r.name, quota=int(r.quota), done=done, completion_code=r.completion_code,
                    redirect_url=r.redirect_url or "", completed_at=r.completed_at, revoked=bool(r.revoked))

    def participant_quota(self, conn, annotator: str) -> int | None:
        """The quota of the study link this annotator entered by, or None (not a study participant)."""
        return conn.execute(select(study_links.c.quota).join(participants, participants.c.link_id == study_links.c.id)
                            .where(participants.c.annotator == annotator)).scalar()

    def answers_done(self, conn, project_id: int, annotator: str) -> int:
        """The annotator's current answers on a project, both protocols (gold included)."""
        return conn.execute(select(func.count()).select_from(annotations).where(
            annotations.c.project_id == project_id, annotations.c.annotator == annotator,
            annotations.c.revises.is_(None), annotations.c.undone.is_(False))).scalar_one()

    def mark_completed(self, annotator: str) -> None:
        with self.db.write() as conn:
            conn.execute(update(participants).where(participants.c.annotator == annotator,
                                                    participants.c.completed_at.is_(None))
                         .values(completed_at=utcnow()))
