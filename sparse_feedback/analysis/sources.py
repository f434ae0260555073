"""Feedback sources: the LLM, all humans, one annotator, or the majority of humans, per protocol.

All feedback on one set of responses lives in a :class:`Feedback` bundle (canonical columns plus
``judge`` — ``"human"`` or the LLM set's name —, ``annotator``, ``seconds`` and, for rankings, the
judge's two raw answers). ``source_ratings`` / ``source_rankings`` cut one source out of it:

- an LLM name (``"LLM"``) or ``"annotator: ID"``: that judge's feedback, first duplicate counts;
- ``"all humans"``: every human annotation pooled (one row per annotation);
- ``"majority of humans"``: one label per item by :mod:`sparse_feedback.protocols`' majority rule
  (median rating rounded half up; the ranking label with the most votes, a tie = ``equal``).

Rankings are matched across sources on the unordered pair: a pair stored as (y, x) has its ``(a)``
and ``(b)`` swapped before it is compared with one stored as (x, y); the canonical order of a pair is
its two texts sorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sparse_feedback.analysis.consistency import Consistency, confusion_matrix, implied_preference
from sparse_feedback.analysis.keys import combine
from sparse_feedback.protocols import FLIP, RAW_COLUMNS, majority_labels, majority_ratings

LLM = "LLM"
HUMAN = "human"
ALL_HUMANS = "all humans"
MAJORITY = "majority of humans"
ANNOTATOR = "annotator: "
RATING_COLUMNS = ("instruction", "input", "output", "rating")
RANKING_COLUMNS = ("instruction", "input", "output1", "output2", "feedback")
GRADE = {"(a)": 1.0, "equal": 0.0, "(b)": -1.0}  # a preference on one scale with rating gaps


@dataclass
class Feedback:
    """Every rating and ranking on one set of responses, from humans and LLM judges."""

    ratings: pd.DataFrame
    rankings: pd.DataFrame

    def llm_names(self) -> list[str]:
        names = pd.concat([self.ratings["judge"], self.rankings["judge"]], ignore_index=True)
        return [n for n in pd.unique(names) if n != HUMAN]

    def annotators(self) -> list[str]:
        frames = [f.loc[f["judge"] == HUMAN, "annotator"] for f in (self.ratings, self.rankings)]
        return sorted(set(pd.concat(frames, ignore_index=True).astype(str)))

    def source_names(self) -> list[str]:
        """Every source this bundle offers, LLMs first; human sources only when there are humans."""
        annotators = self.annotators()
        humans = [ALL_HUMANS, MAJORITY] + [ANNOTATOR + a for a in annotators] if annotators else []
        return self.llm_names() + humans


# ---------------------------------------------------------------- building a bundle

def _normalise(frame: pd.DataFrame | None, columns: tuple[str, ...], judge: str) -> pd.DataFrame:
    extra = RAW_COLUMNS if "feedback" in columns else ()
    if frame is None:
        frame = pd.DataFrame(columns=list(columns))
    out = frame[list(columns)].copy()
    for col in columns:
        if col not in ("rating",):
            out[col] = out[col].astype(object)  # pointer copies when rows are selected, unlike arrow strings
    out["judge"] = judge
    annotated = judge == HUMAN and "annotator" in frame.columns
    out["annotator"] = frame["annotator"].astype(str).to_numpy() if annotated else ""
    seconds = frame["seconds"] if "seconds" in frame.columns else np.nan
    out["seconds"] = pd.to_numeric(pd.Series(seconds, index=frame.index), errors="coerce").astype(float)
    for col in extra:
        out[col] = frame[col].astype(object).to_numpy() if col in frame.columns else None
    out = with_keys(out)
    texts = ["_key"] if "output" in columns else ["_key1", "_key2"]
    first = ~out.duplicated(subset=[*texts, "judge", "annotator"], keep="first")  # first per judge and annotator
    return out[first].reset_index(drop=True)


def feedback_from_frames(sets) -> Feedback:
    """Bundle ``[(ratings_df, rankings_df[, name]), ...]`` (either frame may be None). Frames with an
    ``annotator`` column (or named ``"human"``) are human; the others are LLM sets named ``name`` or
    ``LLM``, ``LLM 2``, ...

    >>> r = pd.DataFrame({"instruction": ["i"], "input": [""], "output": ["x"], "rating": [5]})
    >>> feedback_from_frames([(r, None)]).source_names()
    ['LLM']
    """
    ratings, rankings, n_llm = [], [], 0
    for rating_frame, ranking_frame, *named in list(sets) or [(None, None)]:
        human = any(f is not None and "annotator" in f.columns for f in (rating_frame, ranking_frame))
        if named:
            name = named[0]
        elif human:
            name = HUMAN
        else:
            n_llm += 1
            name = LLM if n_llm == 1 else f"{LLM} {n_llm}"
        ratings.append(_normalise(rating_frame, RATING_COLUMNS, name))
        rankings.append(_normalise(ranking_frame, RANKING_COLUMNS, name))
    return Feedback(pd.concat(ratings, ignore_index=True), pd.concat(rankings, ignore_index=True))


def frames_from_store(store, project: str) -> Feedback:
    """The bundle of one store project: every model's ratings and both-order rankings, every annotator's."""
    models = store.sources(project)["models"]
    sets = [(store.llm_ratings(project, m), store.llm_rankings(project, m),
             LLM if len(models) == 1 else f"{LLM} ({m})") for m in models]
    sets.append((store.human_ratings(project), store.human_rankings(project), HUMAN))
    return feedback_from_frames(sets)


# ---------------------------------------------------------------- keys

# Hashes and word counts are computed once per bundle and carried in these columns through every cut.
CACHED = {"output": ("_key", "_words"), "output1": ("_key1", "_words1"), "output2": ("_key2", "_words2")}


def word_count(texts) -> np.ndarray:
    """Words (whitespace-separated runs) of each text; each distinct text is split once.

    >>> word_count(["two words", "", " one ", "two words"]).tolist()
    [2, 0, 1, 2]
    """
    memo: dict = {}

    def count(text) -> int:
        n = memo.get(text)
        if n is None:
            n = memo[text] = len(text.split()) if isinstance(text, str) else 0
        return n

    values = np.asarray(texts, dtype=object)
    return np.fromiter((count(t) for t in values), np.int64, count=len(values))


def text_key(values) -> np.ndarray:
    """uint64 key of each text from Python's string hash: cached on each string object, so a bundle's
    hundreds of thousands of long texts hash in milliseconds. Stable within one process only, which is
    all a key needs here (keys never leave the analysis)."""
    values = np.asarray(values, dtype=object)
    return np.fromiter((hash(v) for v in values), np.int64, count=len(values)).view(np.uint64)


def context_key(frame: pd.DataFrame) -> np.ndarray:
    """One uint64 key per (instruction, input)."""
    return combine(text_key(frame["instruction"]), text_key(frame["input"]))


def with_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its response (and pair) keys and word counts cached as ``_``-columns."""
    ctx = context_key(frame)
    for output, (key, words) in CACHED.items():
        if output in frame.columns:
            frame[key] = combine(ctx, text_key(frame[output]))
            frame[words] = word_count(frame[output])
    if "output1" in frame.columns:
        frame["_pair"], frame["_flipped"] = pair_key(frame)
    return frame


def response_key(frame: pd.DataFrame, output: str = "output") -> np.ndarray:
    """One uint64 key per (instruction, input, response)."""
    cached = CACHED[output][0]
    if cached in frame.columns:
        return frame[cached].to_numpy()
    return combine(context_key(frame), text_key(frame[output]))


def words(frame: pd.DataFrame, output: str = "output") -> np.ndarray:
    """Word count of the ``output`` column (cached when the frame comes from a bundle)."""
    cached = CACHED[output][1]
    return frame[cached].to_numpy() if cached in frame.columns else word_count(frame[output])


def pair_key(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Key of the unordered pair, and whether the row stores it flipped against the canonical order."""
    if "_pair" in frame.columns:
        return frame["_pair"].to_numpy(), frame["_flipped"].to_numpy()
    ctx = context_key(frame)
    h1, h2 = text_key(frame["output1"]), text_key(frame["output2"])
    # The canonical order puts the texts in sorted order: the same in every process, so label shares
    # (and so κ) never depend on hash seeds.
    flipped = frame["output1"].to_numpy(dtype=object) > frame["output2"].to_numpy(dtype=object)
    lo, hi = np.where(flipped, h2, h1), np.where(flipped, h1, h2)
    return combine(ctx, lo, hi), flipped


def canonical_labels(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(pair key, feedback in the canonical order) of each ranking row."""
    key, flipped = pair_key(frame)
    labels = frame["feedback"].to_numpy(dtype=object)
    return key, np.where(flipped, frame["feedback"].map(FLIP).to_numpy(dtype=object), labels)


# ---------------------------------------------------------------- sources

def _first(frame: pd.DataFrame, key: np.ndarray) -> pd.DataFrame:
    return frame[~pd.Series(key).duplicated(keep="first").to_numpy()].reset_index(drop=True)


def _select(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    human = frame["judge"] == HUMAN
    if source in (ALL_HUMANS, MAJORITY):
        return frame[human].reset_index(drop=True)
    if source.startswith(ANNOTATOR):
        return frame[human & (frame["annotator"] == source[len(ANNOTATOR):])].reset_index(drop=True)
    return frame[frame["judge"] == source].reset_index(drop=True)


def source_ratings(feedback: Feedback, source: str) -> pd.DataFrame:
    """The ratings of one source (see the module docstring); pooled rows for ``all humans``."""
    rows = _select(feedback.ratings, source)
    if source == ALL_HUMANS or not len(rows):
        return rows
    key = response_key(rows)
    if source != MAJORITY:
        return _first(rows, key)
    first = _first(rows, key)
    first["rating"] = majority_ratings(key, rows["rating"]).reindex(response_key(first)).to_numpy()
    first["annotator"], first["seconds"] = "", np.nan
    return first


def source_rankings(feedback: Feedback, source: str) -> pd.DataFrame:
    """The rankings of one source (see the module docstring); pooled rows for ``all humans``."""
    rows = _select(feedback.rankings, source)
    if source == ALL_HUMANS or not len(rows):
        return rows
    key, canonical = canonical_labels(rows)
    if source != MAJORITY:
        return _first(rows, key)
    vote = majority_labels(key, canonical)
    first = _first(rows, key)
    first_key, flipped = pair_key(first)
    label = vote.reindex(first_key).to_numpy(dtype=object)
    first["feedback"] = np.where(flipped, pd.Series(label).map(FLIP).to_numpy(dtype=object), label)
    first["annotator"], first["seconds"] = "", np.nan
    return first


def rating_lookup(ratings: pd.DataFrame) -> pd.Series:
    """Rating per response key; the mean where a source holds several (pooled humans)."""
    return ratings.groupby(response_key(ratings), sort=False)["rating"].mean()


def attach_ratings(rankings: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Ranking rows (all kept) whose two responses are rated, with ``rating1``, ``rating2``, ``implied``.

    Ratings are ints for a one-label-per-response source and means for pooled humans.
    """
    lookup = rating_lookup(ratings)
    r1 = lookup.reindex(response_key(rankings, "output1")).to_numpy(dtype=float)
    r2 = lookup.reindex(response_key(rankings, "output2")).to_numpy(dtype=float)
    rated = ~(np.isnan(r1) | np.isnan(r2))
    out = rankings[rated].reset_index(drop=True)
    out["rating1"], out["rating2"] = r1[rated], r2[rated]
    out["implied"] = implied_preference(out["rating1"], out["rating2"])
    return out


def consistency_between(feedback: Feedback, rating_source: str,
                        ranking_source: str) -> tuple[Consistency, pd.DataFrame]:
    """Consistency of one source's ratings with another's rankings, and the rated pairs behind it.

    With one rating per response and one ranking per pair this is exactly
    :func:`~sparse_feedback.analysis.consistency.consistency`; pooled humans count every ranking annotation.
    """
    pairs = attach_ratings(source_rankings(feedback, ranking_source), source_ratings(feedback, rating_source))
    agree = pairs["implied"].to_numpy() == pairs["feedback"].to_numpy()
    pct = round(float(100.0 * agree.mean()), 4) if len(pairs) else float("nan")
    return Consistency(pct, len(pairs), confusion_matrix(pairs["implied"], pairs["feedback"])), pairs


def group_sources(feedback: Feedback) -> list[str]:
    """The sources a grid compares: every LLM, all humans and the majority (not each annotator)."""
    return [s for s in feedback.source_names() if not s.startswith(ANNOTATOR)]


def consistency_grid(feedback: Feedback, sources=None) -> pd.DataFrame:
    """Consistency of every (ratings source, rankings source) pairing: one row each, with the pair count."""
    sources = group_sources(feedback) if sources is None else sources
    rows = []
    for rating_source in sources:
        for ranking_source in sources:
            result, _ = consistency_between(feedback, rating_source, ranking_source)
            rows.append({"rating_source": rating_source, "ranking_source": ranking_source,
                         "consistency": result.consistency, "n_pairs": result.n_pairs})
    return pd.DataFrame(rows, columns=["rating_source", "ranking_source", "consistency", "n_pairs"])
