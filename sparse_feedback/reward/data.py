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
            rows.append((prompt, *pair))
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


def rankings_groups(pairs: pd.DataFrame, tokenizer) -> list[Group]:
    """One group per pair: the prompt, then the chosen and the rejected response (in that order)."""
    prompts = _prompt_ids(tokenizer, pairs["prompt"])
    chosen = _token_ids(tokenizer, [response_text(t) for t in pairs["chosen"]], special=False)
    rejected = _token_ids(tokenizer, [response_text(t) for t in pairs["rejected"]], special=False)
    return [Group(prompts[p], [c, r]) for p, c, r in zip(pairs["prompt"], chosen, rejected)]


def ratings_groups(ratings: pd.DataFrame, tokenizer, per_prompt: int = 4) -> list[Group]:
    """A prompt's rated responses packed behind one copy of it, at most ``per_prompt`` per group.

    ``Group.index`` holds each response's row in ``ratings`` so scores map back to rows.
    """
    prompts = _prompt_ids(tokenizer, ratings["prompt"])
    responses = _token_ids(tokenizer, [response_text(t) for t in ratings["response"]], special=False)
    values = ratings["rating"].to_numpy()
    groups = []
    for prompt, rows in ratings.groupby("prompt", sort=False).indices.items():
        for start in range(0, len(rows), max(1, per_prompt)):
            chunk = rows[start:start + per_prompt]
            groups.append(Group(prompts[prompt], [responses[i] for i in chunk],
                                ratings=[int(values[i]) for i in chunk], index=[int(i) for i in chunk]))
    return groups


def make_groups(protocol: str, table: pd.DataFrame, tokenizer, per_prompt: int = 4) -> list[Group]:
    if protocol == "ratings":
        return ratings_groups(table, tokenizer, per_prompt)
    return rankings_groups(table, tokenizer)
