"""Frames out of the store: every human and LLM judgement, in the foundation's canonical formats.

``human_ratings`` / ``human_rankings`` / ``llm_ratings`` / ``llm_rankings`` keep every column an
analysis needs (annotator, order shown, seconds, raw answers). They are the data: gold items (a study's checks)
and excluded annotators' answers are never in them (see :func:`counted`); :meth:`ExportMixin.feedback` trims
them to the original rating/ranking feedback layout so ``formats.write_table`` writes csv/seed/hf.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import and_, exists, select, true

from sparse_feedback.formats import RANKING_FEEDBACK, RATING_FEEDBACK, rm_pairs
from sparse_feedback.protocols import (
    AGREE, DISAGREE, ONE_ORDER, RAW_COLUMNS, flip, majority_rankings, majority_rating_rows, pairs_from_orders,
)
from sparse_feedback.store.adjudicate import ADJUDICATED
from sparse_feedback.store.answers import latest_only
from sparse_feedback.store.projects import StoreError
from sparse_feedback.store.schema import annotations, excluded, gold, items, llm_feedback, pair_tasks, rating_tasks

SOURCES = ("human", "llm", ADJUDICATED)
NOTED = ("annotator", "comment", "flags", "version")  # what a human answer carries besides its label


class ExportMixin:
    db: object

    def _joined(self, project: str, protocol: str, source: str, who: str | None) -> list[dict]:
        pid = self.project(project).id
        fb = annotations if source == "human" else llm_feedback
        task = rating_tasks if protocol == "ratings" else pair_tasks
        query = (select(fb, items.c.instruction, items.c.input, items.c.responses, items.c.position,
                        *(task.c[c] for c in (("response_index",) if protocol == "ratings" else ("index1", "index2"))))
                 .join(task, task.c.id == fb.c.task_id).join(items, items.c.id == task.c.item_id)
                 .where(fb.c.project_id == pid, fb.c.protocol == protocol, counted(fb, task)).order_by(fb.c.id))
        if source == "human":
            query = query.where(latest_only(fb))  # an edited answer counts once, as last edited
            if who is not None:
                query = query.where(fb.c.annotator == who)
        elif who is not None:
            query = query.where(fb.c.source_model == who)
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def human_ratings(self, project: str, annotator: str | None = None) -> pd.DataFrame:
        """Rating feedback plus ``annotator, comment, flags, version, seconds, created_at, item, response_index``
        (the latest version of each answer; undone answers left out)."""
        rows = [{"instruction": r["instruction"], "input": r["input"], "output": r["responses"][r["response_index"]],
                 "rating": int(r["value"]), **_noted(r), "seconds": r["seconds"],
                 "created_at": r["created_at"], "item": r["position"], "response_index": r["response_index"]}
                for r in self._joined(project, "ratings", "human", annotator)]
        return _frame(rows, RATING_FEEDBACK.columns, [*NOTED, "seconds", "created_at", "item", "response_index"])

    def human_rankings(self, project: str, annotator: str | None = None) -> pd.DataFrame:
        """Ranking feedback (output1 = the pair's (a)) plus ``annotator, comment, flags, version, shown_order,
        seconds, created_at, item`` (the latest version of each answer)."""
        rows = [{"instruction": r["instruction"], "input": r["input"], "output1": r["responses"][r["index1"]],
                 "output2": r["responses"][r["index2"]], "feedback": r["value"], **_noted(r),
                 "shown_order": "ba" if r["swapped"] else "ab", "seconds": r["seconds"],
                 "created_at": r["created_at"], "item": r["position"]}
                for r in self._joined(project, "rankings", "human", annotator)]
        return _frame(rows, RANKING_FEEDBACK.columns, [*NOTED, "shown_order", "seconds", "created_at", "item"])

    def llm_ratings(self, project: str, model: str | None = None) -> pd.DataFrame:
        """LLM rating feedback plus ``model, raw_answers``."""
        rows = [{"instruction": r["instruction"], "input": r["input"], "output": r["responses"][r["response_index"]],
                 "rating": int(r["value"]), "model": r["source_model"], "raw_answers": list(r["raw_answers"] or []),
                 "item": r["position"]}
                for r in self._joined(project, "ratings", "llm", model)]
        return _frame(rows, RATING_FEEDBACK.columns, ["model", "raw_answers", "item"])

    def llm_ranking_orders(self, project: str, model: str | None = None) -> pd.DataFrame:
        """LLM rankings as judged: one row per order asked, ``output1`` shown first, ``feedback`` the position
        picked, plus ``model, reversed`` (asked as the pair's (output2, output1)), ``raw_answers, item``."""
        rows = []
        for r in self._joined(project, "rankings", "llm", model):
            i, j = (r["index2"], r["index1"]) if r["reversed"] else (r["index1"], r["index2"])
            rows.append({"instruction": r["instruction"], "input": r["input"], "output1": r["responses"][i],
                         "output2": r["responses"][j], "feedback": flip(r["value"]) if r["reversed"] else r["value"],
                         "model": r["source_model"], "reversed": bool(r["reversed"]),
                         "raw_answers": list(r["raw_answers"] or []), "item": r["position"]})
        return _frame(rows, RANKING_FEEDBACK.columns, ["model", "reversed", "raw_answers", "item"])

    def llm_rankings(self, project: str, model: str | None = None) -> pd.DataFrame:
        """LLM rankings as the protocol's feedback: one row per pair and model by the both-orders rule
        (:func:`~sparse_feedback.protocols.pairs_from_orders`), with ``orders`` saying why, ``model``, and
        each order's raw answer and picked position."""
        orders = self.llm_ranking_orders(project, model)
        frames = [pairs_from_orders(rows).assign(model=m) for m, rows in orders.groupby("model", sort=True)]
        columns = [*RANKING_FEEDBACK.columns, "orders", "model", *RAW_COLUMNS]
        return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns, dtype=object)

    def sources(self, project: str) -> dict[str, list[str]]:
        """Who has judged this project: ``{"annotators": [...], "models": [...]}``."""
        pid = self.project(project).id
        with self.db.read() as conn:
            who = conn.execute(select(annotations.c.annotator).where(annotations.c.project_id == pid,
                                                                     counted(annotations))
                               .distinct().order_by(annotations.c.annotator)).scalars().all()
            models = conn.execute(select(llm_feedback.c.source_model).where(llm_feedback.c.project_id == pid)
                                  .distinct().order_by(llm_feedback.c.source_model)).scalars().all()
        return {"annotators": list(who), "models": list(models)}

    def feedback(self, project: str, protocol: str, source: str = "human", who: str | None = None) -> pd.DataFrame:
        """Rating or ranking feedback in the original layout from one source: ``human`` (every annotation of
        all annotators, or of ``who``, with an ``annotator`` column), ``llm`` (all models, or ``who``; rankings
        one row per pair by the both-orders rule, with an ``orders`` column saying why) or ``adjudicated``
        (rankings: each adjudicated pair's current decision, with who decided, the source accepted and why)."""
        if source not in SOURCES:
            raise StoreError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        if source == ADJUDICATED:
            if protocol != "rankings":
                raise StoreError("adjudication decides pairs: there are adjudicated rankings, not ratings")
            frame = self.adjudicated_rankings(project, data_only=True)
            frame = frame[frame["adjudicator"] == who] if who is not None else frame
            return frame[[*RANKING_FEEDBACK.columns, "adjudicator", "accepted", "reason"]].reset_index(drop=True)
        getter = {("ratings", "human"): self.human_ratings, ("rankings", "human"): self.human_rankings,
                  ("ratings", "llm"): self.llm_ratings, ("rankings", "llm"): self.llm_rankings}.get((protocol, source))
        if getter is None:
            raise StoreError(f"protocol must be 'ratings' or 'rankings', not {protocol!r}")
        kind = RATING_FEEDBACK if protocol == "ratings" else RANKING_FEEDBACK
        extra = [*NOTED[:3]] if source == "human" else ["orders"] if protocol == "rankings" else []
        return getter(project, who)[[*kind.columns, *extra]].reset_index(drop=True)

    def training_feedback(self, project: str, protocol: str, source: str = "human", who: str | None = None,
                          every_annotation: bool = False) -> tuple[pd.DataFrame, str]:
        """The feedback a reward model trains on, and one line saying how it was aggregated.

        LLM rankings: one row per pair by the both-orders rule. Humans: one label per pair (rankings) or
        response (ratings) by majority — the most votes, a tie = ``equal``; the median rating rounded half
        up — unless ``every_annotation`` keeps each annotation as its own row."""
        frame = self.feedback(project, protocol, source, who)
        kind = RATING_FEEDBACK if protocol == "ratings" else RANKING_FEEDBACK
        unit = "responses" if protocol == "ratings" else "pairs"
        if source == ADJUDICATED:
            return frame[list(kind.columns)], f"{len(frame)} pairs, each as adjudicated (its latest decision)"
        if source == "llm":
            if protocol == "ratings":
                return frame, f"{len(frame)} LLM ratings"
            why = frame["orders"].value_counts()
            return frame, (f"{len(frame)} pairs, one per pair from both judged orders: {why.get(AGREE, 0)} agree, "
                           f"{why.get(DISAGREE, 0)} disagree (equal), {why.get(ONE_ORDER, 0)} with one order only "
                           f"(equal)")
        if every_annotation:
            return frame, f"{len(frame)} annotations, every human annotation as its own row"
        majority = (majority_rating_rows if protocol == "ratings" else majority_rankings)(frame)
        ties = " (a tie = equal)" if protocol == "rankings" else " (median, rounded half up)"
        return (majority[list(kind.columns)],
                f"{len(majority)} {unit}, one label each by majority of {len(frame)} human annotations{ties}")

    def rm_pairs(self, project: str, source: str = "human", who: str | None = None,
                 every_annotation: bool = False) -> pd.DataFrame:
        """TRL preference pairs (``prompt, chosen, rejected``) from the rankings a reward model trains on."""
        return rm_pairs(self.training_feedback(project, "rankings", source, who, every_annotation)[0])


def counted(fb, task=None):
    """A WHERE clause keeping the rows that count as data: not on a gold item (``task``: the joined task table)
    and, for human answers, not by an annotator excluded from the project."""
    clauses = [] if task is None else [~exists().where(gold.c.item_id == task.c.item_id)]
    if "annotator" in fb.c:
        clauses.append(~exists().where(excluded.c.project_id == fb.c.project_id,
                                       excluded.c.annotator == fb.c.annotator))
    return and_(*clauses) if clauses else true()


def _noted(row: dict) -> dict:
    return {"annotator": row["annotator"], "comment": row["comment"] or "", "flags": row["flags"] or "",
            "version": int(row["version"] or 1)}


def _frame(rows: list[dict], columns, extras) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*columns, *extras])
    return frame.astype({c: object for c in columns if c not in ("rating",)})
