"""Consistency and both win-rates on 1,000,000 synthetic ranked pairs (with their ratings).

Prints the time of the vectorised analyses and the ratio against a row-by-row Python loop measured in
the same run on a subsample and extrapolated. Target: all three analyses in <= 3 s on a 2-core CPU.

    python bench/bench_analysis.py [--pairs 1000000] [--baseline-pairs 100000]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sparse_feedback.analysis import consistency, win_rate_rankings, win_rate_ratings  # noqa: E402

TEXT = ("Explain the idea in two short sentences, then give one example that a beginner would understand "
        "without any background.")


def _texts(fmt: str, n: int) -> np.ndarray:
    """n distinct strings, freshly built (as a reader builds them), so no hash is cached on them yet."""
    return np.array([fmt.format(i) for i in range(n)], dtype=object)


def synthetic(n: int, seed: int = 0):
    """n ranked pairs, one instruction each: output1 is the reference, output2 the candidate; both rated."""
    rng = np.random.default_rng(seed)
    has_input = rng.random(n) < 0.4

    def context(prefix: str) -> tuple[np.ndarray, np.ndarray]:
        inputs = _texts(prefix + "input {}", n)
        inputs[~has_input] = ""
        return _texts(prefix + "Instruction {} - " + TEXT[:60], n), inputs

    def frame(prefix: str, **columns) -> pd.DataFrame:
        ins, inp = context(prefix)
        texts = {name: values for name, values in columns.items() if name != "rating"}
        out = pd.DataFrame({"instruction": ins, "input": inp, **texts}, dtype=object)  # as the readers give
        if "rating" in columns:
            out["rating"] = columns["rating"]
        return out

    r1, r2 = rng.integers(1, 8, n), rng.integers(1, 8, n)
    # Rankings agree with the ratings' direction 60% of the time, like real feedback roughly does.
    implied = np.where(r1 > r2, "(a)", np.where(r1 < r2, "(b)", "equal"))
    noise = np.array(["(a)", "(b)", "equal"])[rng.integers(0, 3, n)]
    feedback = np.where(rng.random(n) < 0.6, implied, noise).astype(object)
    reference = frame("", output=_texts("Reference answer {}: " + TEXT, n), rating=r1)
    candidate = frame("", output=_texts("Candidate answer {}: " + TEXT, n), rating=r2)
    ratings = pd.concat([reference, candidate], ignore_index=True)
    rankings = frame("", output1=_texts("Reference answer {}: " + TEXT, n),
                     output2=_texts("Candidate answer {}: " + TEXT, n), feedback=feedback)
    return ratings, rankings, reference, candidate


def loop_analyses(ratings, rankings, reference, candidate) -> tuple[float, float, float]:
    """The same three numbers, one row at a time with dicts: the baseline."""
    rating_of: dict = {}
    for row in ratings.itertuples(index=False):
        rating_of.setdefault((row.instruction, row.input, row.output), row.rating)
    seen, agree, n = set(), 0, 0
    for row in rankings.itertuples(index=False):
        key = (row.instruction, row.input, row.output1, row.output2)
        if key in seen:
            continue
        seen.add(key)
        a = rating_of.get((row.instruction, row.input, row.output1))
        b = rating_of.get((row.instruction, row.input, row.output2))
        if a is None or b is None:
            continue
        implied = "(a)" if a > b else "(b)" if a < b else "equal"
        n += 1
        agree += implied == row.feedback
    ref: dict = {}
    for row in reference.itertuples(index=False):
        ref.setdefault((row.instruction, row.input), row.rating)
    cand: dict = {}
    for row in candidate.itertuples(index=False):
        cand.setdefault((row.instruction, row.input), row.rating)
    scores = [1.0 if cand[k] > r else 0.5 if cand[k] == r else 0.0 for k, r in ref.items() if k in cand]
    ranks = [{"(b)": 1.0, "equal": 0.5, "(a)": 0.0}[f] for f in rankings["feedback"]]
    return 100 * agree / n, 100 * sum(scores) / len(scores), 100 * sum(ranks) / len(ranks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--baseline-pairs", type=int, default=100_000)
    parser.add_argument("--budget", type=float, default=3.0, help="seconds allowed for the three analyses")
    args = parser.parse_args()

    t = time.perf_counter()
    ratings, rankings, reference, candidate = synthetic(args.pairs)
    print(f"built {args.pairs:,} ranked pairs and {len(ratings):,} ratings in {time.perf_counter() - t:.1f} s")

    timings = {}
    cpu = time.process_time()
    t = time.perf_counter()
    c = consistency(ratings, rankings)
    timings["consistency"] = time.perf_counter() - t
    t = time.perf_counter()
    wr = win_rate_ratings(reference, candidate)
    timings["win-rate (ratings)"] = time.perf_counter() - t
    t = time.perf_counter()
    wk = win_rate_rankings(rankings)
    timings["win-rate (rankings)"] = time.perf_counter() - t
    total = sum(timings.values())
    cpu = time.process_time() - cpu
    for name, seconds in timings.items():
        print(f"{name:>20}: {seconds:6.3f} s")
    # CPU time beside wall time: on a shared machine the gap is time spent waiting for a core.
    print(f"{'vectorised total':>20}: {total:6.3f} s wall, {cpu:.3f} s CPU  (budget {args.budget:.1f} s, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"consistency {c.consistency:.2f} % over {c.n_pairs:,} pairs; ratings {wr}; rankings {wk}")

    m = args.baseline_pairs
    sub = synthetic(m, seed=1)
    t = time.perf_counter()
    expected = loop_analyses(*sub)
    loop_s = (time.perf_counter() - t) * args.pairs / m
    got = (consistency(sub[0], sub[1]).consistency, win_rate_ratings(sub[2], sub[3]).win_rate,
           win_rate_rankings(sub[1]).win_rate)
    if not all(math.isclose(a, b, abs_tol=1e-3) for a, b in zip(expected, got)):
        print(f"MISMATCH: loop {expected} vs vectorised {got}")
        return 1
    print(f"row-by-row loop on {m:,} pairs, extrapolated to {args.pairs:,}: {loop_s:.2f} s")
    print(f"speed-up: {loop_s / total:.1f}x over the loop (both give the same numbers on the subsample)")
    if total > args.budget:
        print(f"OVER BUDGET: {total:.2f} s > {args.budget:.1f} s")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
