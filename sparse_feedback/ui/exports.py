"""Export files for download: one source's feedback in the original layout, HF datasets zipped, TRL pairs.

LLM rankings leave as one row per pair (the both-orders rule, ``orders`` saying why); the judge's
answers per order asked are a separate, explicitly named export. Human feedback carries each answer's latest
version with its comment and flags; the audit trail (every version, undone ones too) is for admins only.
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd

from sparse_feedback import formats
from sparse_feedback.store import ADJUDICATED, Store, StoreError
from sparse_feedback.ui.uploads import zip_dir

JUDGED_ORDERS = "rankings, one row per judged order"
AUDIT = "audit trail: every version of every answer"
WHAT = ("ratings", "rankings", "trl pairs", JUDGED_ORDERS, AUDIT)
FORMATS = ("csv", "seed", "json", "jsonl", "parquet", "hf", "seed-json")
_EXT = {"csv": ".csv", "seed": ".csv", "json": ".json", "jsonl": ".jsonl", "parquet": ".parquet", "hf": "",
        "seed-json": ".json"}


def source_choices(store: Store, project: str) -> list[str]:
    """``human``, ``llm``, ``adjudicated``, then ``annotator:NAME`` and ``model:NAME`` for each who judged it."""
    found = store.sources(project)
    return ["human", "llm", ADJUDICATED, *(f"annotator:{a}" for a in found["annotators"]),
            *(f"model:{m}" for m in found["models"])]


def parse_source(source: str) -> tuple[str, str | None]:
    """``"annotator:alice"`` → ``("human", "alice")``; ``"llm"`` → ``("llm", None)``.

    >>> parse_source("annotator:alice"), parse_source("model:gpt"), parse_source("adjudicated")
    (('human', 'alice'), ('llm', 'gpt'), ('adjudicated', None))
    """
    kind, _, who = (source or "human").partition(":")
    kind = {"annotator": "human", "model": "llm"}.get(kind, kind)
    if kind not in ("human", "llm", ADJUDICATED):
        raise StoreError(f"unknown source {source!r}")
    return kind, (who or None)


def what_choices(may_manage: bool) -> list[str]:
    """The exports a caller is offered: the audit trail only to those who may manage (admins).

    >>> AUDIT in what_choices(True), AUDIT in what_choices(False)
    (True, False)
    """
    return [w for w in WHAT if may_manage or capability(w) != "manage"]


def capability(what: str) -> str:
    """What the caller's role must allow for this export (``sparse_feedback.ui.access.CAN``).

    >>> capability("ratings"), capability(AUDIT)
    ('export', 'manage')
    """
    return "manage" if what == AUDIT else "export"


def export_frame(store: Store, project: str, what: str, source: str):
    """(frame, how its rows were made, the rankings TRL pairs came from or None) of one export."""
    kind, who = parse_source(source)
    rankings = None
    if what == AUDIT:
        frame = store.audit_trail(project)
        frame["created_at"] = frame["created_at"].map(lambda t: t.isoformat(sep=" ", timespec="seconds"))
        how = "every version of every answer (undone ones too)"
    elif what == "trl pairs":
        rankings, how = store.training_feedback(project, "rankings", kind, who)
        frame = store.rm_pairs(project, kind, who)
        how += f"; (a)/(b) made chosen/rejected, {len(rankings) - len(frame)} equal dropped"
    elif what == JUDGED_ORDERS:  # the LLM's raw answers, as asked: the per-pair feedback is "rankings"
        if kind != "llm":
            raise StoreError("one row per judged order exists for LLM rankings only; choose an llm source")
        frame = store.llm_ranking_orders(project, who)
        frame["raw_answers"] = frame["raw_answers"].map(lambda answers: " | ".join(answers))
        how = "one row per order the LLM judge was asked (output1 shown first)"
    else:
        frame = store.feedback(project, what, kind, who)
        how = ("every human answer, its latest version, one row each (annotator column)" if kind == "human" else
               "one row per pair and judge by the both-orders rule (orders column)" if what == "rankings" else
               "one rating per response and judge")
    return frame, how, rankings


def as_written(store: Store, project: str, what: str, source: str, fmt: str) -> tuple[pd.DataFrame, str, object]:
    """(the rows the export writes, exactly as written: the seed layout's columns, the seed-json pairs one a row;
    how they were made; what the writer takes). The preview and the file both come from here, so they agree."""
    if not project:
        raise StoreError("choose a project first")
    if what not in WHAT or fmt not in FORMATS:
        raise StoreError(f"choose what from {', '.join(WHAT)} and a format from {', '.join(FORMATS)}")
    if what == AUDIT and fmt in ("seed", "seed-json"):
        raise StoreError("the audit trail has no seed layout: choose csv, json, jsonl, parquet or hf")
    if what != "trl pairs" and fmt == "seed-json":
        raise StoreError("seed-json is the original's format for TRL pairs only")
    frame, how, rankings = export_frame(store, project, what, source)
    if fmt == "seed-json":  # the original's {prompt: {"sentences": [[chosen, rejected], ...]}}
        seed = formats.rm_pairs_seed_json(rankings)
        rows = [(prompt, *pair) for prompt, v in seed.items() for pair in v["sentences"]]
        return pd.DataFrame(rows, columns=["prompt", "chosen", "rejected"]), how, seed
    if fmt == "seed":
        frame = formats.seed_columns(frame)
    return frame, how, frame


PREVIEW_ROWS = 5  # rows the Export tab shows before writing
PREVIEW_CHARS = 120  # a longer text is cut in the preview (the file holds it whole)
LAYOUTS = {"seed": "headerless CSV in the original's column order", "hf": "a zipped Hugging Face dataset",
           "seed-json": "the original's JSON, one pair a row here"}


def export_preview(store: Store, project: str, what: str, source: str, fmt: str,
                   rows: int = PREVIEW_ROWS) -> tuple[str, pd.DataFrame]:
    """(a line with the row count, layout and how the rows were made; the first ``rows`` rows as the export
    writes them, texts cut)."""
    frame, how, _ = as_written(store, project, what, source, fmt)
    line = (f"The export writes **{len(frame):,} row{'' if len(frame) == 1 else 's'}** ({LAYOUTS.get(fmt, fmt)}): "
            f"{how}" + (f". The first {min(rows, len(frame))}:" if len(frame) else "."))
    head = frame.head(rows).astype(object)
    shown = head.where(head.notna(), "")
    return line, shown.apply(lambda col: col.map(lambda v: v if len(str(v)) <= PREVIEW_CHARS
                                                 else str(v)[: PREVIEW_CHARS - 1] + "…"))


def export_file(store: Store, project: str, what: str, source: str, fmt: str, directory=None) -> tuple[Path, int]:
    """Write the export to a fresh temporary folder; returns (file, row count). HF datasets come zipped."""
    frame, _, written = as_written(store, project, what, source, fmt)
    source = "all" if what == AUDIT else source
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    label = "audit" if what == AUDIT else what.replace(", one row per judged order", "_orders")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{project}_{label}_{source}_{stamp}")
    out_dir = Path(directory or tempfile.mkdtemp(prefix="sf-export-"))
    path = out_dir / (stem + _EXT[fmt])
    if fmt == "seed-json":
        formats.write_json(written, path)
    elif fmt == "hf":
        formats.write_table(frame, path, "hf")
        path = zip_dir(path, out_dir / f"{stem}.zip")
    else:
        formats.write_table(frame, path, fmt)
    return path, len(frame)


def push_export(store: Store, project: str, what: str, source: str, repo_id: str, private: bool = False,
                token: str | None = None) -> str:
    """Push one export to a Hub dataset repo with its card; returns the one line saying what happened."""
    from sparse_feedback.formats.hub import push_dataset
    from sparse_feedback.report.cards import consistency_figure, dataset_facts

    if not project:
        raise StoreError("choose a project first")
    repo_id = (repo_id or "").strip()
    if not repo_id:
        raise StoreError("name the Hub dataset repo (OWNER/NAME)")
    if what not in WHAT:
        raise StoreError(f"choose what from {', '.join(WHAT)}")
    frame, how, _ = export_frame(store, project, what, source)
    kind, who = parse_source(source)
    protocol = "ratings" if what == "ratings" else "rankings"
    figure = None
    if what in ("ratings", "rankings", "trl pairs"):
        ratings = store.training_feedback(project, "ratings", kind, who)[0]
        rankings = store.training_feedback(project, "rankings", kind, who)[0]
        figure = consistency_figure(ratings, rankings, against=f"the project's {source} ratings and rankings "
                                                              "(one label each, as a reward model trains on them)")
    judged = store.feedback(project, protocol, kind, who) if what == "trl pairs" else frame
    judges = ([who] if who else store.sources(project)["models"]) if kind == "llm" else []
    facts = dataset_facts(repo_id, frame, what=what, protocol=protocol, aggregation=how, source=kind,
                          judged=judged, consistency_with=figure, judges=judges)
    return push_dataset(frame, facts, private=private, token=token).line(f"{project} {what} ({source})")
