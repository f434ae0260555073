"""Reward-model training data: read feedback into prompt/response tables, split by instruction, tokenize.

Ratings become ``prompt, response, rating``; rankings become ``prompt, chosen, rejected`` (``equal``
dropped). The prompt is the shared Alpaca template, so one instruction is one prompt and splitting by
prompt is splitting by instruction.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from sparse_feedback import formats
from sparse_feedback.errors import InputError
from sparse_feedback.formats.schema import RATING_MAX, RATING_MIN
from sparse_feedback.reward.collate import Group
from sparse_feedback.templates import prompt_and_response


def response_text(text: str) -> str:
    """The response as appended to its prompt (the template's separator)."""
    return prompt_and_response("", "", text)[1]


def _seed_json_pairs(path: Path) -> pd.DataFrame | None:
    """The original's ``{prompt: {"sentences": [[preferred, rejected], ...]}}``, or None if not that."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not data or not all(isinstance(v, dict) and "sentences" in v
                                                         for v in data.values()):
        return None
    rows = []
    for prompt, value in data.items():
        for i, pair in enumerate(value["sentences"]):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
                raise InputError(path, "expected [preferred, rejected] texts", where=f"prompt {prompt[:40]!r} pair {i}")
            rows.append((prompt.rstrip(" "), *pair))  # its keys end "### Response: "; the template adds the space
    return pd.DataFrame(rows, columns=["prompt", "chosen", "rejected"], dtype=object)


def _columns(path: Path) -> set[str]:
    raw = formats.read_raw(path)
    return {str(c) for c in raw.frame.columns} if raw.has_header else set()


def load_rankings(path) -> pd.DataFrame:
    """Ranking feedback, TRL ``prompt, chosen, rejected`` pairs, or the seed JSON → ``prompt, chosen, rejected``."""
    path = Path(path)
    pairs = _seed_json_pairs(path)
    if pairs is None and {"prompt", "chosen", "rejected"} <= _columns(path):
        raw = formats.read_raw(path).frame
        pairs = raw[["prompt", "chosen", "rejected"]].astype(str).reset_index(drop=True)
    if pairs is None:
        pairs = formats.rm_pairs(formats.read_ranking_feedback(path))
    if pairs.empty:
        raise InputError(path, "no decided pairs to train on (every row is 'equal')")
    return pairs.reset_index(drop=True)


def load_ratings(path) -> pd.DataFrame:
    """Rating feedback or an ``rm-ratings`` export (``prompt, response, rating``) → ``prompt, response, rating``."""
    path = Path(path)
    if {"prompt", "response", "rating"} <= _columns(path):
        raw = formats.read_raw(path)
        table = raw.frame[["prompt", "response", "rating"]].copy()
        ratings = pd.to_numeric(table["rating"], errors="coerce")
        bad = ~ratings.between(RATING_MIN, RATING_MAX) | (ratings % 1 != 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(path, f"rating {table['rating'].iloc[i]!r} is not an integer in "
                             f"{RATING_MIN}-{RATING_MAX}", where=raw.label(i), column="rating")
        table["rating"] = ratings.astype(np.int64)
        return table.reset_index(drop=True)
    return formats.rm_ratings(formats.read_rating_feedback(path)).reset_index(drop=True)


def load_feedback(protocol: str, path) -> pd.DataFrame:
    return load_ratings(path) if protocol == "ratings" else load_rankings(path)


def split_by_instruction(table: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out ``fraction`` of the prompts (instructions), with all their rows, for evaluation.

    >>> t = pd.DataFrame({"prompt": list("aabbccddee"), "x": range(10)})
    >>> train, held = split_by_instruction(t, 0.2, seed=0)
    >>> len(train), len(held), set(train.prompt) & set(held.prompt)
    (8, 2, set())
    """
    prompts = pd.unique(table["prompt"])
    n_eval = min(len(prompts) - 1, math.ceil(fraction * len(prompts))) if fraction > 0 else 0
    if n_eval <= 0:
        return table.reset_index(drop=True), table.iloc[:0].reset_index(drop=True)
    held = set(np.random.default_rng(seed).permutation(prompts)[:n_eval])
    mask = table["prompt"].isin(held).to_numpy()
    return table[~mask].reset_index(drop=True), table[mask].reset_index(drop=True)


def _token_ids(tokenizer, texts, special: bool) -> list[list[int]]:
    if not len(texts):
        return []
    return tokenizer(list(texts), add_special_tokens=special)["input_ids"]


def _prompt_ids(tokenizer, prompts) -> dict[str, list[int]]:
    """Each distinct prompt tokenized once (special tokens such as BOS belong to the prompt)."""
    unique = list(pd.unique(pd.Series(prompts, dtype=object)))
    return dict(zip(unique, _token_ids(tokenizer, unique, special=True)))


def _chunks(items: list, size_of, limit: int) -> list[list]:
    """Consecutive chunks whose ``size_of(chunk)`` stays within ``limit`` (an item alone may exceed it)."""
    chunks: list[list] = []
    for item in items:
        if chunks and size_of(chunks[-1] + [item]) <= limit:
            chunks[-1].append(item)
        else:
            chunks.append([item])
    return chunks


def rankings_groups(pairs: pd.DataFrame, tokenizer, per_prompt: int = 4) -> list[Group]:
    """A prompt's pairs packed behind one copy of it; each distinct response appears (and is scored) once.

    A group holds at most ``per_prompt`` distinct responses; ``per_prompt=2`` gives one pair per group.
    """
    prompts = _prompt_ids(tokenizer, pairs["prompt"])
    texts = list(pd.unique(pd.concat([pairs["chosen"], pairs["rejected"]], ignore_index=True)))
    token_ids = dict(zip(texts, _token_ids(tokenizer, [response_text(t) for t in texts], special=False)))
    chosen, rejected = pairs["chosen"].tolist(), pairs["rejected"].tolist()
    distinct = lambda rows: {t for i in rows for t in (chosen[i], rejected[i])}  # noqa: E731
    groups = []
    for prompt, rows in pairs.groupby("prompt", sort=False).indices.items():
        for chunk in _chunks([int(i) for i in rows], lambda c: len(distinct(c)), max(2, per_prompt)):
            order = list(dict.fromkeys(t for i in chunk for t in (chosen[i], rejected[i])))
            where = {t: k for k, t in enumerate(order)}
            groups.append(Group(prompts[prompt], [token_ids[t] for t in order],
                                pairs=[(where[chosen[i]], where[rejected[i]]) for i in chunk], index=chunk))
    return groups


def response_groups(table: pd.DataFrame, tokenizer, per_prompt: int = 4) -> list[Group]:
    """A prompt's responses (``prompt, response`` rows) packed behind one copy of it, at most ``per_prompt``
    per group; with a ``rating`` column each response carries its rating."""
    prompts = _prompt_ids(tokenizer, table["prompt"])
    responses = _token_ids(tokenizer, [response_text(t) for t in table["response"]], special=False)
    values = table["rating"].to_numpy() if "rating" in table.columns else None
    groups = []
    for prompt, rows in table.groupby("prompt", sort=False).indices.items():
        for chunk in _chunks([int(i) for i in rows], len, max(1, per_prompt)):
            groups.append(Group(prompts[prompt], [responses[i] for i in chunk], index=chunk,
                                ratings=None if values is None else [int(values[i]) for i in chunk]))
    return groups


def make_groups(protocol: str, table: pd.DataFrame, tokenizer, per_prompt: int = 4) -> list[Group]:
    if protocol == "ratings":
        return response_groups(table, tokenizer, per_prompt)
    return rankings_groups(table, tokenizer, per_prompt)


def table_scores(protocol: str, groups: list[Group], flat_scores, n_rows: int) -> np.ndarray:
    """Flat per-response scores (group order) → one score per table row (ratings) or, for rankings,
    chosen and rejected alternating per row (the layout ``metrics.evaluate`` takes).

    >>> g = [Group([1], [[5], [6], [7]], pairs=[(0, 1), (2, 1)], index=[1, 0])]
    >>> table_scores("rankings", g, [0.5, -1.0, 2.0], n_rows=2).tolist()
    [2.0, -1.0, 0.5, -1.0]
    """
    out = np.zeros((n_rows, 2) if protocol == "rankings" else n_rows, dtype=np.float64)
    start = 0
    for group in groups:
        scores = flat_scores[start:start + len(group.responses)]
        start += len(group.responses)
        if protocol == "rankings":
            for row, (c, r) in zip(group.index, group.pairs):
                out[row] = scores[c], scores[r]
        else:
            out[group.index] = scores
    return out.reshape(-1)
