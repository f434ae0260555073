"""Reading the report's inputs from files (the CLI and the win-rates tab's uploads share it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sparse_feedback.analysis.candidates import per_instruction
from sparse_feedback.analysis.sources import Feedback, feedback_from_frames
from sparse_feedback.errors import InputError
from sparse_feedback.formats import read_ranking_feedback, read_rating_feedback


def _named(values: list[str], fallback: list[str]) -> list[tuple[str, str]]:
    out = []
    for i, value in enumerate(values):
        name, sep, path = value.partition("=")
        if not sep or not name or Path(value).exists():
            name, path = (fallback[i] if i < len(fallback) else Path(value).stem), value
        out.append((name, path))
    return out


def load_runs(reference: str | None, candidates: list[str], feedback: list[str]) -> dict:
    """Read the win-rate inputs into per-instruction tables, one per candidate run (by name)."""
    named_c = _named(candidates, [])
    named_f = _named(feedback, [n for n, _ in named_c])
    if named_c and reference is None:
        raise InputError(named_c[0][1], "--candidate-ratings needs --reference-ratings")
    ref = read_rating_feedback(reference) if reference else None
    ratings = {n: read_rating_feedback(p) for n, p in named_c}
    rankings = {n: read_ranking_feedback(p) for n, p in named_f}
    return {n: per_instruction(ref, ratings.get(n), rankings.get(n)) for n in dict.fromkeys([*ratings, *rankings])}


# What ``evaluate`` (and each RM's evaluation in the pipeline) writes next to its ``winrates.json``.
EVALUATION_FILES = ("feedback_ratings_reference.csv", "feedback_ratings_candidate.csv", "feedback_rankings.csv")


def evaluated_runs(root) -> list[str]:
    """Folders under ``root`` written by ``evaluate`` or the pipeline, as paths relative to ``root``."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(str(p.parent.relative_to(root)) for p in root.rglob("winrates.json")
                  if all((p.parent / f).exists() for f in EVALUATION_FILES))


def load_evaluated_runs(root, runs: list[str]) -> dict:
    """Per-instruction win-rate tables of evaluated runs, each against its own reference ratings."""
    root = Path(root).resolve()
    out = {}
    for run in runs:
        folder = (root / run).resolve()
        if root not in folder.parents:
            raise InputError(run, "not an evaluated run under the data home")
        out[run] = load_evaluation(folder)
    return out


def load_evaluation(folder) -> pd.DataFrame:
    """The per-instruction win-rate table of one folder written by ``evaluate`` (or a best-of-n job)."""
    folder = Path(folder)
    missing = [f for f in EVALUATION_FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(folder, f"not an evaluated run: no {missing[0]} (run `evaluate` first)")
    reference, candidate, pairwise = (folder / f for f in EVALUATION_FILES)
    return per_instruction(read_rating_feedback(reference), read_rating_feedback(candidate),
                           read_ranking_feedback(pairwise))


def load_feedback(sets: list[tuple[str | None, str | None]]) -> Feedback:
    """Read (ratings, rankings) file pairs into one bundle. Every row is read (no per-file dedupe), so a
    human file keeps each annotator's answer; the bundle keeps the first per judge and annotator."""
    return feedback_from_frames([(read_rating_feedback(r, dedupe=False) if r else None,
                                  read_ranking_feedback(k, dedupe=False) if k else None) for r, k in sets])
