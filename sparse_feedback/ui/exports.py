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


def export_file(store: Store, project: str, what: str, source: str, fmt: str, directory=None) -> tuple[Path, int]:
    """Write the export to a fresh temporary folder; returns (file, row count). HF datasets come zipped."""
    if not project:
        raise StoreError("choose a project first")
    if what not in WHAT or fmt not in FORMATS:
        raise StoreError(f"choose what from {', '.join(WHAT)} and a format from {', '.join(FORMATS)}")
    kind, who = parse_source(source)
    if what == AUDIT:  # every answer row of the project, whatever the source says
        if fmt in ("seed", "seed-json"):
            raise StoreError("the audit trail has no seed layout: choose csv, json, jsonl, parquet or hf")
        frame = store.audit_trail(project)
        frame["created_at"] = frame["created_at"].map(lambda t: t.isoformat(sep=" ", timespec="seconds"))
        source = "all"
    elif what == "trl pairs":
        frame = store.rm_pairs(project, kind, who)
        rankings = store.training_feedback(project, "rankings", kind, who)[0]
    elif what == JUDGED_ORDERS:  # the LLM's raw answers, as asked: the per-pair feedback is "rankings"
        if kind != "llm":
            raise StoreError("one row per judged order exists for LLM rankings only; choose an llm source")
        frame = store.llm_ranking_orders(project, who)
        frame["raw_answers"] = frame["raw_answers"].map(lambda answers: " | ".join(answers))
    else:
        if fmt == "seed-json":
            raise StoreError("seed-json is the original's format for TRL pairs only")
        frame = store.feedback(project, what, kind, who)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    label = "audit" if what == AUDIT else what.replace(", one row per judged order", "_orders")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{project}_{label}_{source}_{stamp}")
    out_dir = Path(directory or tempfile.mkdtemp(prefix="sf-export-"))
    path = out_dir / (stem + _EXT[fmt])
    if fmt == "seed-json":
        formats.write_json(formats.rm_pairs_seed_json(rankings), path)
    elif fmt == "hf":
        formats.write_table(frame, path, "hf")
        path = zip_dir(path, out_dir / f"{stem}.zip")
    else:
        formats.write_table(frame, path, fmt)
    return path, len(frame)
