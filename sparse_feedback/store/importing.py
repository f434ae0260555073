"""Turn any file the foundation reads into a project: sniff the kind, read it, build the generation.

Feedback files also bring their labels, stored as LLM feedback under a source name of the caller's
choosing. Reading happens before anything is written, so a bad file imports nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sparse_feedback import formats
from sparse_feedback.formats.schema import KINDS, RANKING_FEEDBACK, RANKING_TASKS, RATING_FEEDBACK

UPLOAD_KINDS = ("auto", "generation", "rating feedback", "ranking feedback", "rating tasks", "ranking tasks")
_BY_NAME = {k.name: k for k in KINDS}
LABELS_CHUNK = 5_000  # an upload's LLM labels written a transaction (the project is still hidden meanwhile)


@dataclass
class Upload:
    """A read upload: its kind, the generation it implies, and any feedback it carries."""

    kind: str
    generation: pd.DataFrame
    ratings: pd.DataFrame | None = None
    rankings: pd.DataFrame | None = None
    rows: pd.DataFrame | None = None  # the file's rows as read (every kind but a generation)


def sniff_kind(path) -> str:
    """Guess an upload's kind from its columns (header names, or the width of a headerless CSV)."""
    raw = formats.read_raw(path)
    cols = set(map(str, raw.frame.columns))
    if "responses" in cols:
        return "generation"
    if raw.has_header:
        has = lambda kind, col: bool(cols & set(kind.names_for(col)))  # noqa: E731
        if has(RANKING_FEEDBACK, "feedback"):
            return "ranking feedback"
        if has(RATING_FEEDBACK, "rating"):
            return "rating feedback"
        return "ranking tasks" if has(RANKING_TASKS, "response2") else "rating tasks"
    width = raw.frame.shape[1]
    if width == 5:
        return "ranking feedback"
    if width == 4:
        last = raw.frame.iloc[:, 3].astype(str).str.strip()
        return "rating feedback" if last.isin([str(i) for i in range(1, 8)]).all() else "ranking tasks"
    return "rating tasks"


def _generation_from(frame: pd.DataFrame, text_cols: list[str]) -> pd.DataFrame:
    """Group responses by (instruction, input), keeping first-seen order and dropping repeats."""
    groups: dict[tuple[str, str], list[str]] = {}
    for rec in frame[["instruction", "input", *text_cols]].itertuples(index=False):
        responses = groups.setdefault((rec[0], rec[1]), [])
        for text in rec[2:]:
            if text not in responses:
                responses.append(text)
    return pd.DataFrame([(i, x, r) for (i, x), r in groups.items()],
                        columns=["instruction", "input", "responses"], dtype=object)


def read_upload(path, kind: str = "auto") -> Upload:
    """Read ``path`` as ``kind`` (or its sniffed kind); raises the foundation's InputError on bad input."""
    if kind not in UPLOAD_KINDS:
        raise ValueError(f"kind must be one of {', '.join(UPLOAD_KINDS)}")
    kind = sniff_kind(path) if kind == "auto" else kind
    if kind == "generation":
        return Upload(kind, formats.read_generation(path))
    frame = formats.read_table(path, _BY_NAME[kind], warn=lambda _m: None)
    if kind == "rating feedback":
        return Upload(kind, _generation_from(frame, ["output"]), ratings=frame, rows=frame)
    if kind == "ranking feedback":
        return Upload(kind, _generation_from(frame, ["output1", "output2"]), rankings=frame, rows=frame)
    if kind == "rating tasks":
        return Upload(kind, _generation_from(frame, ["response"]), rows=frame)
    return Upload(kind, _generation_from(frame, ["response1", "response2"]), rows=frame)


_CUT = {"instruction": 120, "input": 60}  # characters of each text shown in the preview (responses: 80)


def preview(upload: Upload, rows: int = 20) -> pd.DataFrame:
    """A small table for the Import tab: the file's first rows as read (pairs with their label, responses with
    their rating), texts cut; for a generation, one row per instruction with its response count."""
    if upload.rows is None:
        gen = upload.generation.head(rows)
        return pd.DataFrame({"instruction": gen["instruction"].str.slice(0, 120),
                             "input": gen["input"].str.slice(0, 60), "responses": gen["responses"].map(len)})
    shown = upload.rows[list(_BY_NAME[upload.kind].columns)].head(rows).astype(str)
    return shown.apply(lambda column: column.str.slice(0, _CUT.get(column.name, 80)))


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def summary(upload: Upload) -> str:
    """One line on what an upload was read as, counting what it holds (pairs and their labels, rated
    responses), for the Import tab's preview.

    >>> pairs = pd.DataFrame({"instruction": ["q", "q"], "input": ["", ""], "output1": ["a", "a"],
    ...                       "output2": ["b", "c"], "feedback": ["(a)", "equal"]})
    >>> summary(Upload("ranking feedback", _generation_from(pairs, ["output1", "output2"]), rankings=pairs,
    ...                rows=pairs))
    'Read as **ranking feedback**: 2 pairs with 2 labels ((a): 1 · equal: 1), over 1 instruction and 3 responses.'
    """
    gen = upload.generation
    instructions = _count(len(gen), "instruction")
    texts = f"{instructions} and {_count(sum(map(len, gen['responses'])), 'response')}"
    if upload.rows is None:
        return f"Read as **{upload.kind}**: {texts}."
    rows, pairs = len(upload.rows), upload.kind.startswith("ranking")
    over = texts if pairs else instructions  # rated rows are the responses: no second count of them
    if upload.kind.endswith("feedback"):
        column = "feedback" if pairs else "rating"
        counts = upload.rows[column].astype(str).value_counts().sort_index()
        labels = " · ".join(f"{label}: {n:,}" for label, n in counts.items())
        unit = "pair" if pairs else "rated response"
        return (f"Read as **{upload.kind}**: {_count(rows, unit)} with {_count(int(counts.sum()), 'label')} "
                f"({labels}), over {over}.")
    what = _count(rows, "pair") + " to rank" if pairs else _count(rows, "response") + " to rate"
    return f"Read as **{upload.kind}**: {what}, over {over}."


def create_project(store, upload: Upload, name: str, overlap: int = 1, source_model: str = "llm",
                   **writing) -> dict:
    """Create a project from an upload and store the feedback it carries; returns counts for the UI.
    ``writing`` (chunk, callback, owner): as :meth:`~sparse_feedback.store.Store.create_project_from_generation`
    takes them."""
    labels, chunked = {}, {"chunk": LABELS_CHUNK, "callback": writing.get("callback")}

    def store_labels(hidden: str) -> None:  # before the project is published: all of it is kept, or none
        if upload.ratings is not None:
            labels["llm_ratings"] = store.import_llm_ratings(hidden, upload.ratings, source_model, **chunked)
        if upload.rankings is not None:
            labels["llm_rankings"] = store.import_llm_rankings(hidden, upload.rankings, source_model, **chunked)

    project = store.create_project_from_generation(upload.generation, name, overlap, before_publish=store_labels,
                                                   **writing)
    return {"items": project.n_items, "rating_tasks": project.n_rating_tasks, "pair_tasks": project.n_pair_tasks,
            **labels}
