"""Frames out of the store: every human and LLM judgement, in the foundation's canonical formats.

``human_ratings`` / ``human_rankings`` / ``llm_ratings`` / ``llm_rankings`` keep every column an
analysis needs (annotator, order shown, seconds, raw answers); :meth:`ExportMixin.feedback` trims
them to the original rating/ranking feedback layout so ``formats.write_table`` writes csv/seed/hf.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from sparse_feedback.formats import RANKING_FEEDBACK, RATING_FEEDBACK, rm_pairs
from sparse_feedback.store.projects import StoreError, flip
from sparse_feedback.store.schema import annotations, items, llm_feedback, pair_tasks, rating_tasks

SOURCES = ("human", "llm")


class ExportMixin:
    db: object

    def _joined(self, project: str, protocol: str, source: str, who: str | None) -> list[dict]:
        pid = self.project(project).id
        fb = annotations if source == "human" else llm_feedback
        task = rating_tasks if protocol == "ratings" else pair_tasks
        query = (select(fb, items.c.instruction, items.c.input, items.c.responses, items.c.position,
                        *(task.c[c] for c in (("response_index",) if protocol == "ratings" else ("index1", "index2"))))
                 .join(task, task.c.id == fb.c.task_id).join(items, items.c.id == task.c.item_id)
                 .where(fb.c.project_id == pid, fb.c.protocol == protocol).order_by(fb.c.id))
        if source == "human":
            query = query.where(fb.c.undone.is_(False))
            if who is not None:
                query = query.where(fb.c.annotator == who)
        elif who is not None:
            query = query.where(fb.c.source_model == who)
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def human_ratings(self, project: str, annotator: str | None = None) -> pd.DataFrame:
        """Rating feedback plus ``annotator, seconds, created_at, item, response_index`` (undone answers left out)."""
        rows = [{"instruction": r["instruction"], "input": r["input"], "output": r["responses"][r["response_index"]],
                 "rating": int(r["value"]), "annotator": r["annotator"], "seconds": r["seconds"],
                 "created_at": r["created_at"], "item": r["position"], "response_index": r["response_index"]}
                for r in self._joined(project, "ratings", "human", annotator)]
        return _frame(rows, RATING_FEEDBACK.columns, ["annotator", "seconds", "created_at", "item", "response_index"])

    def human_rankings(self, project: str, annotator: str | None = None) -> pd.DataFrame:
        """Ranking feedback (output1 = the pair's (a)) plus ``annotator, shown_order, seconds, created_at``."""
        rows = [{"instruction": r["instruction"], "input": r["input"], "output1": r["responses"][r["index1"]],
                 "output2": r["responses"][r["index2"]], "feedback": r["value"], "annotator": r["annotator"],
                 "shown_order": "ba" if r["swapped"] else "ab", "seconds": r["seconds"],
                 "created_at": r["created_at"], "item": r["position"]}
                for r in self._joined(project, "rankings", "human", annotator)]
        return _frame(rows, RANKING_FEEDBACK.columns, ["annotator", "shown_order", "seconds", "created_at", "item"])

    def llm_ratings(self, project: str, model: str | None = None) -> pd.DataFrame:
        """LLM rating feedback plus ``model, raw_answers``."""
        rows = [{"instruction": r["instruction"], "input": r["input"], "output": r["responses"][r["response_index"]],
                 "rating": int(r["value"]), "model": r["source_model"], "raw_answers": list(r["raw_answers"] or []),
                 "item": r["position"]}
                for r in self._joined(project, "ratings", "llm", model)]
        return _frame(rows, RATING_FEEDBACK.columns, ["model", "raw_answers", "item"])

    def llm_rankings(self, project: str, model: str | None = None) -> pd.DataFrame:
        """LLM ranking feedback in the order each pair was judged (both orders when judged both ways)."""
        rows = []
        for r in self._joined(project, "rankings", "llm", model):
            i, j = (r["index2"], r["index1"]) if r["reversed"] else (r["index1"], r["index2"])
            rows.append({"instruction": r["instruction"], "input": r["input"], "output1": r["responses"][i],
                         "output2": r["responses"][j], "feedback": flip(r["value"]) if r["reversed"] else r["value"],
                         "model": r["source_model"], "reversed": bool(r["reversed"]),
                         "raw_answers": list(r["raw_answers"] or []), "item": r["position"]})
        return _frame(rows, RANKING_FEEDBACK.columns, ["model", "reversed", "raw_answers", "item"])

    def sources(self, project: str) -> dict[str, list[str]]:
        """Who has judged this project: ``{"annotators": [...], "models": [...]}``."""
        pid = self.project(project).id
        with self.db.read() as conn:
            who = conn.execute(select(annotations.c.annotator).where(annotations.c.project_id == pid)
                               .distinct().order_by(annotations.c.annotator)).scalars().all()
            models = conn.execute(select(llm_feedback.c.source_model).where(llm_feedback.c.project_id == pid)
                                  .distinct().order_by(llm_feedback.c.source_model)).scalars().all()
        return {"annotators": list(who), "models": list(models)}

    def feedback(self, project: str, protocol: str, source: str = "human", who: str | None = None) -> pd.DataFrame:
        """Rating or ranking feedback in the original layout from one source: ``human`` (all annotators, or
        ``who``) or ``llm`` (all models, or ``who``)."""
        if source not in SOURCES:
            raise StoreError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        getter = {("ratings", "human"): self.human_ratings, ("rankings", "human"): self.human_rankings,
                  ("ratings", "llm"): self.llm_ratings, ("rankings", "llm"): self.llm_rankings}.get((protocol, source))
        if getter is None:
            raise StoreError(f"protocol must be 'ratings' or 'rankings', not {protocol!r}")
        kind = RATING_FEEDBACK if protocol == "ratings" else RANKING_FEEDBACK
        return getter(project, who)[list(kind.columns)].reset_index(drop=True)

    def rm_pairs(self, project: str, source: str = "human", who: str | None = None) -> pd.DataFrame:
        """TRL preference pairs (``prompt, chosen, rejected``) from one source's rankings."""
        return rm_pairs(self.feedback(project, "rankings", source, who))


def _frame(rows: list[dict], columns, extras) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*columns, *extras])
    return frame.astype({c: object for c in columns if c not in ("rating",)})
