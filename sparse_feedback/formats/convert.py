"""Generation files, instruction files, and the conversions between the pipeline's tables."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from sparse_feedback.errors import InputError
from sparse_feedback.formats.readers import read_raw, read_table
from sparse_feedback.formats.schema import INSTRUCTIONS
from sparse_feedback.templates import alpaca_prompt


def read_generation(path) -> pd.DataFrame:
    """A generation file: ``{instruction, input, responses: [...]}`` per row (JSON, JSONL, parquet, HF)."""
    raw = read_raw(path)
    frame = raw.frame
    if "responses" not in frame.columns:
        raise InputError(raw.path, "missing column 'responses' (a list of response texts) for a generation file",
                         column="responses")
    rows = []
    extras = [c for c in frame.columns if c not in ("instruction", "input", "responses")]
    base = read_table(path, INSTRUCTIONS, dedupe=False) if "instruction" in frame.columns else None
    if base is None:
        raise InputError(raw.path, "missing column 'instruction'", column="instruction")
    for i, responses in enumerate(frame["responses"].tolist()):
        if isinstance(responses, np.ndarray):
            responses = responses.tolist()
        if not isinstance(responses, list) or not responses or not all(isinstance(r, str) for r in responses):
            raise InputError(raw.path, "expected a non-empty list of response texts", where=raw.label(i),
                             column="responses")
        rows.append(responses)
    out = base[["instruction", "input"]].copy()
    out["responses"] = rows
    for c in extras:
        out[c] = frame[c].to_numpy()
    out.attrs.update(source=str(raw.path))
    return out


def read_instructions(path) -> pd.DataFrame:
    """Instructions with optional input (and any extra columns such as ``dataset``), duplicates kept."""
    return read_table(path, INSTRUCTIONS, dedupe=False)


def rating_tasks(generation: pd.DataFrame) -> pd.DataFrame:
    """One row per response: ``instruction, input, response``."""
    out = generation[["instruction", "input", "responses"]].explode("responses", ignore_index=True)
    return out.rename(columns={"responses": "response"})


def ranking_tasks(generation: pd.DataFrame) -> pd.DataFrame:
    """Every unordered pair of an instruction's responses, in index order (0,1), (0,2), ..., (n-2,n-1)."""
    rows = [
        (ins, inp, a, b)
        for ins, inp, responses in generation[["instruction", "input", "responses"]].itertuples(index=False)
        for a, b in combinations(responses, 2)
    ]
    return pd.DataFrame(rows, columns=["instruction", "input", "response1", "response2"], dtype=object)


def _prompts(frame: pd.DataFrame) -> list[str]:
    return [alpaca_prompt(i, x) for i, x in zip(frame["instruction"], frame["input"])]


def rm_pairs(rankings: pd.DataFrame) -> pd.DataFrame:
    """Ranking feedback → TRL preference pairs ``prompt, chosen, rejected``; ``equal`` rows dropped."""
    decided = rankings[rankings["feedback"] != "equal"]
    first = (decided["feedback"] == "(a)").to_numpy()
    return pd.DataFrame({
        "prompt": _prompts(decided),
        "chosen": np.where(first, decided["output1"], decided["output2"]),
        "rejected": np.where(first, decided["output2"], decided["output1"]),
    })


def rm_pairs_seed_json(pairs: pd.DataFrame) -> dict:
    """TRL pairs → the original's ``{prompt: {"sentences": [[preferred, rejected], ...]}}``."""
    out: dict[str, dict] = {}
    for prompt, chosen, rejected in pairs[["prompt", "chosen", "rejected"]].itertuples(index=False):
        out.setdefault(prompt, {"sentences": []})["sentences"].append([chosen, rejected])
    return out


def rm_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    """Rating feedback → ``prompt, response, rating`` for a ratings reward model."""
    return pd.DataFrame({"prompt": _prompts(ratings), "response": ratings["output"].to_numpy(),
                         "rating": ratings["rating"].to_numpy()})
