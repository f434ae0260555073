"""Rerank a generation file with a reward model and write the best-of-n outputs and every candidate's score."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from sparse_feedback.formats import alpaca_eval_records, check_output, write_json
from sparse_feedback.progress import ProgressCallback
from sparse_feedback.rerank.select import Scorer, best_of_n, candidates, score_table


def scores_path(output) -> Path:
    """``OUT.json`` → ``OUT.scores.json``: every candidate's score beside the chosen outputs."""
    output = Path(output)
    return output.with_name(output.stem + ".scores.json")


def default_generator(generation: pd.DataFrame, rm_name: str) -> str:
    """``<policy>-best-of-<n>-<rm>``, e.g. ``smollm2-135m-best-of-16-ratings_rm``."""
    n = int(generation["responses"].map(len).max())
    policy = generation["generator"].iloc[0] if "generator" in generation.columns else "policy"
    return f"{Path(str(policy)).name}-best-of-{n}-{rm_name}"


def rerank(generation: pd.DataFrame, rm: Scorer, output, generator: str, batch_size: int | None = None,
           callback: ProgressCallback | None = None, alpaca_eval_compatible: bool = False) -> dict:
    """Score all candidates in one call (the scorer sorts them by length), write both files, return a summary.

    ``alpaca_eval_compatible``: each input folded into its instruction as AlpacaEval reads them (input kept)."""
    check_output(output), check_output(scores_path(output))  # refuse before scoring, not after
    flat = candidates(generation)
    started = time.perf_counter()
    scores = rm.score(flat["instruction"].tolist(), flat["input"].tolist(), flat["response"].tolist(),
                      batch_size=batch_size, progress=callback)
    seconds = time.perf_counter() - started
    table = score_table(generation, scores)
    write_json(table, scores_path(output))  # the sidecar first: the outputs file marks the work done
    records = best_of_n(generation, scores, generator)
    write_json(alpaca_eval_records(records) if alpaca_eval_compatible else records, output)
    return {"instructions": len(generation), "candidates": len(flat), "seconds": seconds,
            "candidates_per_second": len(flat) / seconds if seconds else float("inf")}
