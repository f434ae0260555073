"""The crossed win-rate table: the RM a run was reranked with (rows) against the evaluation protocol (columns).

Each cell is the run's win-rate against the reference under that protocol (the same
:func:`~sparse_feedback.analysis.winrate.summarize` as ``winrate ratings|rankings``), with its 95 % interval
and n. Two rows are *inverted* when the two columns order them differently, the paper's headline. For every
pair of rows (x above y under rankings), the *difference of differences*

    DoD = (rankings(x) − rankings(y)) − (ratings(x) − ratings(y))       (percentage points)

is computed on the instructions both runs have under both protocols, with a 95 % percentile interval from a
paired bootstrap that resamples those instructions (all four scores of an instruction move together). An
inversion is a positive DoD larger than the rankings gap; its interval says whether it exceeds the noise.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from sparse_feedback.analysis.keys import combine, text_hash
from sparse_feedback.analysis.winrate import summarize

PROTOCOLS = ("ratings", "rankings")
KINDS = ("ratings RM", "rankings RM", "base policy")  # then any other row, in the order given
BASE_NAMES = ("base", "none", "base policy", "policy", "no rm")
BOOTSTRAP = 2000
CROSSED_COLUMNS = ["row", "reranked_with"] + [f"{p}_{k}" for p in PROTOCOLS for k in ("win_rate", "ci95", "n")]
PAIR_COLUMNS = ["x", "y", "ratings_diff", "rankings_diff", "dod", "dod_low", "dod_high", "n", "inverted"]


def reranked_with(name: str) -> str:
    """Which row kind a run belongs to, from its name (a best-of-n job names its runs by their RM).

    >>> reranked_with("job-1 · ratings RM (rm_a)"), reranked_with("rankings RM"), reranked_with("Base")
    ('ratings RM', 'rankings RM', 'base policy')
    >>> reranked_with("my-dpo-run")
    'other'
    """
    lowered = name.lower()
    for kind in KINDS[:2]:
        if kind.lower() in lowered:
            return kind
    return KINDS[2] if lowered.strip() in BASE_NAMES else "other"


def _order(names) -> list[str]:
    rank = {k: i for i, k in enumerate(KINDS)}
    return sorted(names, key=lambda n: rank.get(reranked_with(n), len(KINDS)))  # stable: others keep their order


def crossed_table(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per run (ratings RM, rankings RM, base policy, then others), a win-rate ± 95 % and n per protocol.

    ``runs`` maps a run name to its :func:`~sparse_feedback.analysis.candidates.per_instruction` table.
    """
    rows = []
    for name in _order(runs):
        row = {"row": name, "reranked_with": reranked_with(name)}
        for protocol in PROTOCOLS:
            score = runs[name][f"{protocol}_score"].dropna().to_numpy(float)
            result = summarize(score)
            row |= {f"{protocol}_win_rate": result.win_rate if len(score) else np.nan,
                    f"{protocol}_ci95": result.ci95, f"{protocol}_n": result.n}
        rows.append(row)
    return pd.DataFrame(rows, columns=CROSSED_COLUMNS)


def _scores(table: pd.DataFrame) -> pd.DataFrame:
    key = combine(text_hash(table["instruction"]), text_hash(table["input"]))
    both = table[list(f"{p}_score" for p in PROTOCOLS)].set_axis(pd.Index(key))
    both = both[~both.index.duplicated(keep="first")]
    return both.dropna()


def bootstrap_mean_interval(values, n_boot: int = BOOTSTRAP, seed: int = 0, chunk: int = 250) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``values`` over ``n_boot`` resamples with replacement.

    >>> low, high = bootstrap_mean_interval(np.r_[np.zeros(50), np.ones(50)])
    >>> 0.39 < low < 0.42 and 0.58 < high < 0.61
    True
    """
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.concatenate([values[rng.integers(0, len(values), (min(chunk, n_boot - done), len(values)))].mean(1)
                            for done in range(0, n_boot, chunk)])
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def inversion_pairs(runs: dict[str, pd.DataFrame], n_boot: int = BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """Every pair of rows, x the one the rankings column puts higher: both gaps, the difference of differences
    with its paired-bootstrap 95 % interval (points), the paired instructions and whether the columns disagree."""
    scores = {name: _scores(runs[name]) for name in _order(runs)}
    out = []
    for x, y in itertools.combinations(scores, 2):
        common = scores[x].index[scores[x].index.isin(scores[y].index)]  # x's order: the same in every process
        sx, sy = scores[x].loc[common], scores[y].loc[common]
        d_rat = 100 * (sx["ratings_score"] - sy["ratings_score"]).to_numpy()
        d_rank = 100 * (sx["rankings_score"] - sy["rankings_score"]).to_numpy()
        if len(common) and d_rank.mean() < 0:
            x, y, d_rat, d_rank = y, x, -d_rat, -d_rank
        dod = d_rank - d_rat
        low, high = bootstrap_mean_interval(dod, n_boot, seed)
        rat, rank = (float(d.mean()) if len(common) else np.nan for d in (d_rat, d_rank))
        out.append({"x": x, "y": y, "ratings_diff": rat, "rankings_diff": rank,
                    "dod": float(dod.mean()) if len(common) else np.nan, "dod_low": low, "dod_high": high,
                    "n": len(common), "inverted": bool(rat * rank < 0)})
    return pd.DataFrame(out, columns=PAIR_COLUMNS)


def describe_inversion(pairs: pd.DataFrame) -> str:
    """The flag in words: which rows the two protocols order differently, with the DoD and its interval.

    >>> p = pd.DataFrame([{"x": "rankings RM", "y": "ratings RM", "ratings_diff": -8.0, "rankings_diff": 6.0,
    ...                    "dod": 14.0, "dod_low": 5.5, "dod_high": 22.25, "n": 80, "inverted": True}])
    >>> print(describe_inversion(p))
    Inversion: rankings puts rankings RM above ratings RM by 6.0 points, ratings puts it 8.0 points below; \
difference of differences 14.0 points, 95 % interval [5.5, 22.2] (paired bootstrap over 80 instructions; \
excludes 0).
    """
    if not len(pairs):
        return "One row: nothing to cross (evaluate a second run, e.g. the other protocol's RM)."
    inverted = pairs[pairs["inverted"]]
    if not len(inverted):
        worst = pairs.sort_values("dod", ascending=False).iloc[0]
        return ("No inversion: both protocols order the rows the same way (closest to inverting: "
                f"{worst['x']} vs {worst['y']}, difference of differences {worst['dod']:.1f} points, 95 % interval "
                f"[{worst['dod_low']:.1f}, {worst['dod_high']:.1f}]).")
    parts = []
    for r in inverted.itertuples(index=False):
        noise = "excludes 0" if r.dod_low > 0 or r.dod_high < 0 else "includes 0: within the noise"
        parts.append(f"rankings puts {r.x} above {r.y} by {r.rankings_diff:.1f} points, ratings puts it "
                     f"{-r.ratings_diff:.1f} points below; difference of differences {r.dod:.1f} points, 95 % "
                     f"interval [{r.dod_low:.1f}, {r.dod_high:.1f}] (paired bootstrap over {r.n} instructions; "
                     f"{noise})")
    return "Inversion: " + "; ".join(parts) + "."
