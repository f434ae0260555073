"""Synthetic feedback with known structure, for tests and benchmarks of the analyses (never for results).

Each response has a hidden quality; ratings and rankings are noisy reads of it with a length bias,
humans agree with each other more than chance, and the LLM's two-order answers lean to the first position.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_feedback(n_instructions: int = 20, n_responses: int = 5, annotators=("ann1", "ann2", "ann3"),
                       human_share: float = 1.0, seed: int = 0) -> dict[str, pd.DataFrame]:
    """``{"llm_ratings", "llm_rankings", "human_ratings", "human_rankings"}`` in canonical columns.

    Every unordered pair of an instruction's responses is ranked (``n_responses * (n_responses-1) / 2``
    pairs per instruction); a share ``human_share`` of items is labelled by every annotator.
    """
    rng = np.random.default_rng(seed)
    inst = np.repeat(np.arange(n_instructions), n_responses)
    words = rng.integers(3, 120, len(inst))
    quality = rng.normal(0, 1, len(inst)) + 0.004 * words
    responses = pd.DataFrame({
        "instruction": [f"Instruction {i}: explain topic {i}." for i in inst], "input": "",
        "output": [f"r{j} " + "word " * int(w) for j, w in enumerate(words)], "quality": quality})
    i1, i2 = np.triu_indices(n_responses, 1)
    base = np.arange(n_instructions)[:, None] * n_responses
    a, b = (base + i1).ravel(), (base + i2).ravel()
    pairs = pd.DataFrame({"instruction": responses["instruction"].to_numpy()[a], "input": "",
                          "output1": responses["output"].to_numpy()[a], "output2": responses["output"].to_numpy()[b]})
    gap = quality[a] - quality[b]

    def rate(noise):
        return np.clip(np.round(4 + 1.3 * quality + rng.normal(0, noise, len(quality))), 1, 7).astype(np.int64)

    def rank(noise, tie=0.35):
        g = gap + rng.normal(0, noise, len(gap))
        return np.where(g > tie, "(a)", np.where(g < -tie, "(b)", "equal")).astype(object)

    llm_ratings = responses[["instruction", "input", "output"]].assign(rating=rate(0.9))
    # Each order: the judge picks the truly better response unless it falls back on the first position.
    better_first = gap + rng.normal(0, 0.8, len(gap)) > 0
    lazy_ab, lazy_ba = rng.random(len(gap)) < 0.25, rng.random(len(gap)) < 0.25
    pos_ab = np.where(lazy_ab, "(a)", np.where(better_first, "(a)", "(b)"))
    pos_ba = np.where(lazy_ba, "(a)", np.where(better_first, "(b)", "(a)"))
    feedback = np.where((pos_ab == "(a)") & (pos_ba == "(b)"), "(a)",
                        np.where((pos_ab == "(b)") & (pos_ba == "(a)"), "(b)", "equal"))
    llm_rankings = pairs.assign(feedback=feedback.astype(object), raw_answer_ab=[f"Output {p}" for p in pos_ab],
                                raw_answer_ba=[f"Output {p} is better." for p in pos_ba])
    hr = [llm_ratings.iloc[:0].assign(annotator="", seconds=0.0)]  # empty frames when there are no annotators
    hk = [pairs.iloc[:0].assign(feedback="", annotator="", seconds=0.0)]
    rated = rng.random(len(responses)) < human_share
    ranked = rng.random(len(pairs)) < human_share
    for name in annotators:
        hr.append(llm_ratings[rated].assign(rating=rate(0.7)[rated], annotator=name,
                                            seconds=rng.gamma(4, 5, int(rated.sum()))))
        hk.append(pairs[ranked].assign(feedback=rank(0.6)[ranked], annotator=name,
                                       seconds=rng.gamma(4, 8, int(ranked.sum()))))
    return {"llm_ratings": llm_ratings, "llm_rankings": llm_rankings,
            "human_ratings": pd.concat(hr, ignore_index=True), "human_rankings": pd.concat(hk, ignore_index=True)}
