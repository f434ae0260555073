"""Win-rates of candidate runs against the reference under both protocols, per run and per instruction.

Headline numbers are the foundation's :func:`~sparse_feedback.analysis.winrate.summarize` of the
per-instruction scores. The *length-controlled* win-rate answers "how often would the candidate win if
both answers were the same length": a logistic regression of the score (1 / 0.5 / 0, as a fractional
outcome) on ``tanh(gap / sd(gap))``, where gap = candidate words − reference words, read off at gap 0
(``sigmoid(intercept)``), with a delta-method 95 % interval. The per-bin table shows the raw win-rate
within length-gap bins, so the correction can be checked by eye.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from sparse_feedback.analysis.keys import combine, text_hash
from sparse_feedback.analysis.sources import word_count
from sparse_feedback.analysis.winrate import RANKING_SCORE, ratings_scores, summarize

REFERENCE = "reference"
SIGNED_EDGES = (-np.inf, -50, -5, 6, 51, np.inf)
SIGNED_BINS = ("< -50", "-50 to -6", "-5 to 5", "6 to 50", "> 50")  # candidate − reference words


def _context(frame: pd.DataFrame) -> np.ndarray:
    return combine(text_hash(frame["instruction"]), text_hash(frame["input"]))


def _first_rows(frame: pd.DataFrame) -> pd.DataFrame:
    key = _context(frame)
    keep = ~pd.Series(key).duplicated().to_numpy()
    return frame[keep].set_index(pd.Index(key[keep]))


def per_instruction(reference: pd.DataFrame | None, candidate: pd.DataFrame | None,
                    feedback: pd.DataFrame | None) -> pd.DataFrame:
    """One row per instruction of a run: both ratings and the ratings score, the ranking and its score,
    and the length gap (candidate − reference words). Either protocol may be absent."""
    cols = ["instruction", "input", "reference_rating", "candidate_rating", "ratings_score", "rankings_feedback",
            "rankings_score", "length_gap"]
    parts = []
    if reference is not None and candidate is not None and len(reference) and len(candidate):
        scores = ratings_scores(reference, candidate).set_index("key")
        ref, cand = _first_rows(reference).loc[scores.index], _first_rows(candidate).loc[scores.index]
        parts.append(pd.DataFrame({
            "instruction": ref["instruction"], "input": ref["input"], "reference_rating": scores["reference"],
            "candidate_rating": scores["candidate"], "ratings_score": scores["score"],
            "gap_r": word_count(cand["output"]) - word_count(ref["output"])}, index=scores.index))
    if feedback is not None and len(feedback):
        fb = _first_rows(feedback)
        parts.append(pd.DataFrame({
            "instruction": fb["instruction"], "input": fb["input"], "rankings_feedback": fb["feedback"],
            "rankings_score": fb["feedback"].map(RANKING_SCORE),
            "gap_k": word_count(fb["output2"]) - word_count(fb["output1"])}, index=fb.index))
    if not parts:
        return pd.DataFrame(columns=cols)
    table = parts[0]
    if len(parts) == 2:
        # An outer join orders rows by key (a per-process hash): keep the ratings' order, then rankings-only rows.
        order = table.index.append(parts[1].index[~parts[1].index.isin(table.index)])
        table = table.join(parts[1], how="outer", rsuffix="_k", sort=False).reindex(order)
        for col in ("instruction", "input"):
            table[col] = table[col].fillna(table.pop(f"{col}_k"))
    gap_r = table.pop("gap_r") if "gap_r" in table else pd.Series(np.nan, index=table.index)
    gap_k = table.pop("gap_k") if "gap_k" in table else pd.Series(np.nan, index=table.index)
    table["length_gap"] = gap_r.fillna(gap_k)
    return table.reindex(columns=cols).reset_index(drop=True)


def length_controlled(scores, gaps) -> tuple[float, float]:
    """Win-rate (percent) at equal length and its 95 % half-width, from a logistic fit on the length gap.

    >>> rng = np.random.default_rng(0)
    >>> gap = rng.normal(0, 50, 4000)
    >>> wins = (rng.random(4000) < 1 / (1 + np.exp(-gap / 25))).astype(float)  # only length matters
    >>> round(length_controlled(wins, gap)[0]) in (48, 49, 50, 51, 52)
    True
    """
    y, gap = np.asarray(scores, dtype=float), np.asarray(gaps, dtype=float)
    ok = ~(np.isnan(y) | np.isnan(gap))
    y, gap = y[ok], gap[ok]
    if len(y) < 3 or gap.std() == 0:
        s = summarize(y)
        return s.win_rate, s.ci95
    X = np.column_stack([np.ones_like(gap), np.tanh(gap / gap.std())])
    beta = np.zeros(2)
    ridge = 1e-4 * np.eye(2)  # keeps the fit finite when one side wins every time
    for _ in range(50):
        p = 1 / (1 + np.exp(-X @ beta))
        w = np.clip(p * (1 - p), 1e-9, None)
        info = X.T @ (X * w[:, None]) + ridge
        step = np.linalg.solve(info, X.T @ (y - p) - ridge @ beta)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    p0 = 1 / (1 + np.exp(-beta[0]))
    se = np.sqrt(np.linalg.inv(info)[0, 0]) * p0 * (1 - p0)
    return round(100 * float(p0), 4), round(100 * 1.96 * float(se), 4)


def win_rate_table(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per run and protocol: win-rate ± 95 %, n, wins/ties/losses and the length-controlled win-rate.

    ``runs`` maps a run name to its :func:`per_instruction` table.
    """
    rows = []
    for name, table in runs.items():
        for protocol in ("ratings", "rankings"):
            scored = table[table[f"{protocol}_score"].notna()]
            if not len(scored):
                continue
            result = summarize(scored[f"{protocol}_score"].to_numpy(float))
            lc, lc_ci = length_controlled(scored[f"{protocol}_score"], scored["length_gap"])
            rows.append({"candidate": name, "protocol": protocol, **result.to_dict(),
                         "lc_win_rate": lc, "lc_ci95": lc_ci})
    return pd.DataFrame(rows, columns=["candidate", "protocol", "win_rate", "ci95", "n", "wins", "ties",
                                       "losses", "lc_win_rate", "lc_ci95"])


def win_rate_by_length(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Raw win-rate and n per run, protocol and length-gap bin (candidate − reference words)."""
    rows = []
    for name, table in runs.items():
        bins = pd.cut(table["length_gap"].astype(float), SIGNED_EDGES, right=False, labels=SIGNED_BINS)
        for protocol in ("ratings", "rankings"):
            score = table[f"{protocol}_score"].astype(float)
            grouped = score.groupby(bins, observed=False).agg(["mean", "count"])
            for label, (mean, count) in grouped.iterrows():
                rows.append({"candidate": name, "protocol": protocol, "gap_words": label, "n": int(count),
                             "win_rate": 100 * mean if count else float("nan")})
    return pd.DataFrame(rows, columns=["candidate", "protocol", "gap_words", "n", "win_rate"])


def protocol_rank_flips(table: pd.DataFrame) -> list[tuple[str, str]]:
    """Pairs (x, y) — the reference counted at 50 % — that the ratings protocol ranks x above y and the
    rankings protocol ranks y above x, or the other way round: the paper's finding.

    >>> t = pd.DataFrame({"candidate": ["bo64"] * 2, "protocol": ["ratings", "rankings"],
    ...                   "win_rate": [52.9, 32.6]})
    >>> protocol_rank_flips(t)
    [('bo64', 'reference')]
    """
    rates = table.pivot_table(index="candidate", columns="protocol", values="win_rate", sort=False)
    if not {"ratings", "rankings"} <= set(rates.columns):
        return []
    rates = rates.dropna(subset=["ratings", "rankings"])
    rates.loc[REFERENCE] = 50.0
    flips = []
    for x, y in itertools.combinations(rates.index, 2):
        d_r = rates.at[x, "ratings"] - rates.at[y, "ratings"]
        d_k = rates.at[x, "rankings"] - rates.at[y, "rankings"]
        if d_r * d_k < 0:
            flips.append((x, y) if d_r > 0 else (y, x))
    return flips


def describe_flips(flips: list[tuple[str, str]]) -> str:
    """One sentence for the UI and the report."""
    if not flips:
        return "The two protocols rank the candidates (and the reference) in the same order."
    parts = [f"ratings put {x} above {y}, rankings put {y} above {x}" for x, y in flips]
    return "The protocols disagree: " + "; ".join(parts) + "."
