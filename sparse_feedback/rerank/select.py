"""Best-of-n selection: score every candidate once, keep each instruction's highest-scoring one.

Pure functions over the generation table and a flat score array, so they are testable with any scorer.

>>> import pandas as pd
>>> gen = pd.DataFrame({"instruction": ["Say hi."], "input": [""], "responses": [["hi", "hello there"]]})
>>> best_of_n(gen, [0.1, 0.7], generator="demo")
[{'instruction': 'Say hi.', 'output': 'hello there', 'generator': 'demo'}]
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd


class Scorer(Protocol):
    """Anything that scores responses, e.g. a trained reward model from ``sparse_feedback.reward``."""

    def score(self, instructions, inputs, responses, batch_size: int | None = None, progress=None) -> np.ndarray: ...


def candidates(generation: pd.DataFrame) -> pd.DataFrame:
    """One row per candidate: ``row`` (the instruction's position), ``instruction, input, response``."""
    lengths = generation["responses"].map(len).to_numpy()
    flat = generation[["instruction", "input", "responses"]].explode("responses", ignore_index=True)
    flat.insert(0, "row", np.repeat(np.arange(len(generation)), lengths))
    return flat.rename(columns={"responses": "response"})


def split_scores(generation: pd.DataFrame, scores) -> list[np.ndarray]:
    """The flat score array cut back into one array per instruction."""
    scores = np.asarray(scores, dtype=float)
    lengths = generation["responses"].map(len).to_numpy()
    if len(scores) != lengths.sum():
        raise ValueError(f"{len(scores)} scores for {lengths.sum()} candidates")
    return np.split(scores, np.cumsum(lengths)[:-1])


def best_of_n(generation: pd.DataFrame, scores, generator: str) -> list[dict]:
    """AlpacaEval records: the top-scored candidate per instruction (first on ties); input/dataset when known."""
    out = []
    for (_, row), s in zip(generation.iterrows(), split_scores(generation, scores)):
        record = {"instruction": row["instruction"]}
        if row["input"]:
            record["input"] = row["input"]
        record["output"] = row["responses"][int(np.argmax(s))]
        record["generator"] = generator
        if isinstance(row.get("dataset"), str):
            record["dataset"] = row["dataset"]
        out.append(record)
    return out


def score_table(generation: pd.DataFrame, scores) -> list[dict]:
    """Every candidate with its score and the chosen index, per instruction (the ``.scores.json`` sidecar)."""
    return [{"instruction": row["instruction"], "input": row["input"], "chosen": int(np.argmax(s)),
             "candidates": [{"response": r, "score": float(v)} for r, v in zip(row["responses"], s)]}
            for (_, row), s in zip(generation.iterrows(), split_scores(generation, scores))]
