"""Calibration for a small local judge whose raw answers carry no signal.

A 135M-parameter judge scoring answer tokens gives every response its single most probable rating (SmolLM2:
always 1) and, in both orders, the same position (so every pair becomes ``equal``). Its probabilities
still differ between responses. With ``calibrate``:

- **ratings** are the quantile bins (1-7) of the judge's expected rating, over all responses compared
  together (e.g. reference and candidate), so the scale is shared by both sides;
- **rankings** compare the two orders' probabilities: response1's support ``P_ab(a) + P_ba(b)`` against
  response2's ``P_ab(b) + P_ba(a)``; within ``tie_margin`` of each other the pair is ``equal``.

Position bias cancels in the second (it adds the same to both sides). Off by default; the pipeline turns
it on for the transformers judge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sparse_feedback.protocols import combine_positions

TIE_MARGIN = 0.02


def quantile_ratings(expected) -> np.ndarray:
    """Expected ratings → integers 1-7 by their rank among all of them (equal values share a bin).

    >>> quantile_ratings([2.1, 2.3, 1.9, 2.2, 2.8, 2.0, 2.5]).tolist()
    [3, 5, 1, 4, 7, 2, 6]
    """
    values = pd.Series(np.asarray(expected, dtype=float))
    pct = values.rank(method="average", pct=True).to_numpy()
    return np.clip(np.ceil(pct * 7 - 1e-9), 1, 7).astype(np.int64)


def calibrate_ratings(*frames: pd.DataFrame) -> list[pd.DataFrame]:
    """Rating feedback frames with ``rating`` replaced by the joint quantile bins of ``expected_rating``."""
    sizes = [len(f) for f in frames]
    if not all("expected_rating" in f.columns for f in frames):
        raise ValueError("calibration needs expected ratings (a judge backend that scores the answer tokens)")
    joint = quantile_ratings(pd.concat([f["expected_rating"] for f in frames], ignore_index=True))
    out, start = [], 0
    for frame, size in zip(frames, sizes):
        frame = frame.copy()
        frame["raw_rating"] = frame["rating"]
        frame["rating"] = joint[start:start + size]
        out.append(frame)
        start += size
    return out


def preference_from_probs(p_ab_a: float, p_ba_a: float, tie_margin: float = TIE_MARGIN) -> str:
    """``(a)`` (response1), ``(b)`` or ``equal`` from P("Output (a)") in the order (r1, r2) and in (r2, r1).

    >>> preference_from_probs(0.9, 0.8), preference_from_probs(0.8, 0.9), preference_from_probs(0.85, 0.845)
    ('(a)', '(b)', 'equal')
    """
    first, second = p_ab_a + (1 - p_ba_a), (1 - p_ab_a) + p_ba_a
    if abs(first - second) <= 2 * tie_margin:
        return "equal"
    return "(a)" if first > second else "(b)"


def choice_probabilities(feedback: pd.DataFrame, backend, cache) -> tuple[np.ndarray, np.ndarray]:
    """P("Output (a)") for each pair asked as (output1, output2) and as (output2, output1), from the cache."""
    from sparse_feedback.judge import cache_key, protocol

    proto = protocol("rankings")
    choice_a = proto.choices[0]

    def p_a(instruction, input, a, b) -> float:
        messages = proto.messages(instruction=instruction, input=input, output_a=a, output_b=b)
        hit = cache.get(cache_key(backend.name, backend.model, messages, backend.params))
        if hit is None or not hit.probs or choice_a not in hit.probs:
            raise ValueError("calibration needs choice probabilities (a judge backend that scores the answer tokens)")
        return hit.probs[choice_a]

    rows = list(feedback[["instruction", "input", "output1", "output2"]].itertuples(index=False))
    ab = np.array([p_a(i, x, o1, o2) for i, x, o1, o2 in rows], dtype=float)
    ba = np.array([p_a(i, x, o2, o1) for i, x, o1, o2 in rows], dtype=float)
    return ab, ba


def calibrate_rankings(feedback: pd.DataFrame, backend, cache, tie_margin: float = TIE_MARGIN) -> pd.DataFrame:
    """Ranking feedback with ``feedback`` decided from both orders' cached choice probabilities."""
    ab, ba = choice_probabilities(feedback, backend, cache)
    out = feedback.copy()
    out["raw_feedback"] = out["feedback"]
    out["feedback"] = [preference_from_probs(x, y, tie_margin) for x, y in zip(ab, ba)]
    return out


def centred_positions(p_a) -> np.ndarray:
    """Each answer's position against the judge's median P("Output (a)"): a constant position bias cancels.

    >>> centred_positions([0.91, 0.95, 0.93, 0.90]).tolist()
    ['(b)', '(a)', '(a)', '(b)']
    """
    p_a = np.asarray(p_a, dtype=float)
    return np.where(p_a > np.median(p_a), "(a)", "(b)").astype(object)


def calibrate_orders(feedback: pd.DataFrame, backend, cache) -> pd.DataFrame:
    """Judge output with each order's position re-decided by :func:`centred_positions` over both orders; the
    pair's feedback then follows the rankings protocol (both orders pick the same response, else ``equal``).
    The judge's own positions are kept in ``raw_position_ab`` / ``raw_position_ba``."""
    ab, ba = choice_probabilities(feedback, backend, cache)
    positions = centred_positions(np.concatenate([ab, ba]))
    pos_ab, pos_ba = positions[: len(ab)], positions[len(ab):]
    out = feedback.copy()
    for order, pos in (("ab", pos_ab), ("ba", pos_ba)):
        out[f"raw_position_{order}"] = out[f"position_{order}"]
        out[f"position_{order}"] = pos
    out["raw_feedback"] = out["feedback"]
    out["feedback"] = [combine_positions(a, b) for a, b in zip(pos_ab, pos_ba)]
    return out
