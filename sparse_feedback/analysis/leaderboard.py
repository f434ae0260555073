"""A leaderboard across policies: a Bradley–Terry fit of every pairwise judgement, beside the ratings' mean score.

*Comparisons* are rows ``model_a, model_b, feedback`` (``(a)``: model_a's output won, ``(b)``: model_b's,
``equal``): each run against the reference (from its rankings evaluation, the reference as output1) and
run against run wherever such pairs were judged. The Bradley–Terry model says model i beats model j with
probability ``sigmoid(θ_i − θ_j)``. **Ties count as half a win for each side** (as Chatbot Arena does): a
comparison with outcome y (1 a won, 0.5 equal, 0 b won) adds ``y·log σ(θ_a − θ_b) + (1 − y)·log σ(θ_b − θ_a)``
to the log-likelihood. The scores maximise

    log-likelihood − (ridge / 2) · Σ θ_i²,       θ_reference = 0,

a logistic regression without intercept on the design ``x_a = +1, x_b = −1`` (the reference's column
dropped). The small ridge (:data:`RIDGE`) keeps the fit finite when a policy wins or loses every comparison
(possible in a bootstrap resample); it is a prior that a policy equals the reference, worth 1/100 of one
comparison. 95 % intervals: percentiles over bootstrap resamples of the comparisons (as Chatbot Arena).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sparse_feedback.analysis.keys import combine, first_positions, label_codes, text_hash

REFERENCE = "reference"
RIDGE = 0.01
BOOTSTRAP = 1000
_OUTCOME = np.array([1.0, 0.0, 0.5])  # by label code: (a), (b), equal
LEADERBOARD_COLUMNS = ["model", "bt_score", "bt_low", "bt_high", "win_rate_vs_reference", "comparisons",
                       "ratings_mean", "ratings_ci95", "ratings_n", "rankings_rank", "ratings_rank"]


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _fit_counts(i, j, n, s, k: int, ridge: float, tol: float = 1e-12, start=None) -> np.ndarray:
    """Newton's method on aggregated comparisons: pair p (model i[p] as a, j[p] as b) seen n[p] times,
    a's outcomes summing to s[p]; model 0 is the anchor (θ = 0)."""
    theta = np.zeros(k) if start is None else np.array(start, dtype=float)

    def objective(t):
        d = t[i] - t[j]
        return -(s * -np.logaddexp(0, -d) + (n - s) * -np.logaddexp(0, d)).sum() + ridge / 2 * (t[1:] ** 2).sum()

    current = objective(theta)
    laplacian = np.concatenate([i * k + i, j * k + j, i * k + j, j * k + i])
    for _ in range(100):
        p = _sigmoid(theta[i] - theta[j])
        r, w = s - n * p, n * p * (1 - p)
        grad = np.bincount(i, r, k) - np.bincount(j, r, k)
        hess = np.bincount(laplacian, np.concatenate([w, w, -w, -w]), k * k).reshape(k, k)
        g = grad[1:] - ridge * theta[1:]
        h = hess[1:, 1:] + ridge * np.eye(k - 1)
        step = np.linalg.lstsq(h, g, rcond=None)[0]
        scale = 1.0
        while scale > 1e-9:  # backtracking: every accepted step lowers the objective
            trial = np.r_[0.0, theta[1:] + scale * step]
            value = objective(trial)
            if value <= current:
                break
            scale /= 2
        else:
            break  # no step lowers it any more: converged to rounding
        theta, current = trial, value
        if np.abs(scale * step).max() < tol:
            break
    return theta


def _encoded(comparisons: pd.DataFrame, anchor: str):
    a, b = comparisons["model_a"].astype(str).to_numpy(), comparisons["model_b"].astype(str).to_numpy()
    found = list(pd.unique(np.r_[a, b]))
    models = [anchor] + [m for m in found if m != anchor] if anchor in found else found
    index = {m: c for c, m in enumerate(models)}
    ia = np.fromiter((index[m] for m in a), dtype=np.int64, count=len(a))
    ib = np.fromiter((index[m] for m in b), dtype=np.int64, count=len(b))
    return models, ia, ib, _OUTCOME[label_codes(comparisons["feedback"].to_numpy())]


def _aggregate(ia, ib, y, k: int, weights=None):
    pair = ia * k + ib
    n = np.bincount(pair, weights, k * k)
    s = np.bincount(pair, y if weights is None else y * weights, k * k)
    seen = np.flatnonzero(n)
    return seen // k, seen % k, n[seen], s[seen]


def bradley_terry(comparisons: pd.DataFrame, anchor: str = REFERENCE, ridge: float = RIDGE) -> pd.Series:
    """Bradley–Terry scores (log-odds, ``anchor`` = 0; the first model when the anchor is absent), ties half a win.

    >>> c = pd.DataFrame({"model_a": ["reference"] * 4, "model_b": ["x"] * 4,
    ...                   "feedback": ["(b)", "(b)", "(a)", "equal"]})
    >>> round(float(bradley_terry(c, ridge=0)["x"]), 6) == round(float(np.log(2.5 / 1.5)), 6)
    True
    """
    models, ia, ib, y = _encoded(comparisons, anchor)
    if not models:
        return pd.Series(dtype=float)
    theta = _fit_counts(*_aggregate(ia, ib, y, len(models)), len(models), ridge)
    return pd.Series(theta, index=models, name="bt_score")


def bootstrap_scores(comparisons: pd.DataFrame, anchor: str = REFERENCE, ridge: float = RIDGE,
                     n_boot: int = BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """Scores refitted on ``n_boot`` resamples (with replacement) of the comparisons: one row per resample.

    A resample of m comparisons draws how often each distinct (model a, model b, outcome) occurs from a
    multinomial over their shares: the same distribution as drawing m rows, in time independent of m."""
    models, ia, ib, y = _encoded(comparisons, anchor)
    k, m = len(models), len(y)
    if not m:
        return pd.DataFrame(columns=models)
    cell = (ia * k + ib) * 3 + np.round(2 * y).astype(np.int64)  # outcome 0, 0.5, 1 as 0, 1, 2
    cells, counts = np.unique(cell, return_counts=True)
    ci, cj, cy = cells // 3 // k, cells // 3 % k, (cells % 3) / 2
    start = _fit_counts(*_aggregate(ci, cj, cy, k, counts.astype(float)), k, ridge)
    rng = np.random.default_rng(seed)
    rows = [_fit_counts(*_aggregate(ci, cj, cy, k, rng.multinomial(m, counts / m).astype(float)), k, ridge,
                        start=start) for _ in range(n_boot)]
    return pd.DataFrame(rows, columns=models)


def comparisons_from_runs(runs: dict[str, pd.DataFrame], versus=()) -> pd.DataFrame:
    """Every run's rankings evaluation against the reference (output1), then ``versus``: (name_a, name_b,
    pairwise feedback with output1 = run a's output, output2 = run b's)."""
    parts = [pd.DataFrame({"model_a": REFERENCE, "model_b": name, "feedback": t["rankings_feedback"].dropna()})
             for name, t in runs.items()]
    parts += [pd.DataFrame({"model_a": a, "model_b": b, "feedback": f["feedback"].to_numpy()}) for a, b, f in versus]
    frames = [p for p in parts if len(p)]
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame(columns=["model_a", "model_b", "feedback"]))


def mean_ratings(runs: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """Ratings-protocol scores of each policy: a run's candidate ratings, the reference's ratings (each instruction
    once, first run first)."""
    out = {name: t["candidate_rating"].dropna().to_numpy(float) for name, t in runs.items()}
    tables = [t.dropna(subset=["reference_rating"]) for t in runs.values()]
    if tables:
        ref = pd.concat(tables, ignore_index=True)
        first = first_positions(combine(text_hash(ref["instruction"]), text_hash(ref["input"])))
        out[REFERENCE] = ref["reference_rating"].to_numpy(float)[first]
    return out


def leaderboard(comparisons: pd.DataFrame, ratings: dict[str, np.ndarray] | None = None, anchor: str = REFERENCE,
                ridge: float = RIDGE, n_boot: int = BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """One row per policy, best Bradley–Terry score first: the score with its bootstrap 95 % interval, the implied
    win-rate against the anchor, its comparisons, the mean rating ± 95 % and both protocols' ranks."""
    ratings = ratings or {}
    scores = bradley_terry(comparisons, anchor, ridge)
    boot = bootstrap_scores(comparisons, anchor, ridge, n_boot, seed)
    counts = pd.concat([comparisons["model_a"], comparisons["model_b"]]).astype(str).value_counts()
    rows = []
    for model in dict.fromkeys([*scores.index, *ratings]):
        r = np.asarray(ratings.get(model, []), dtype=float)
        has = model in scores.index
        fixed = model == scores.index[0] if has else True  # the anchor's score is 0 by definition
        low, high = (np.nan, np.nan) if fixed or not len(boot) else np.percentile(boot[model], [2.5, 97.5])
        rows.append({"model": model, "bt_score": scores.get(model, np.nan), "bt_low": low, "bt_high": high,
                     "win_rate_vs_reference": 100 * _sigmoid(scores[model]) if has else np.nan,
                     "comparisons": int(counts.get(model, 0)),
                     "ratings_mean": r.mean() if len(r) else np.nan,
                     "ratings_ci95": 1.96 * r.std(ddof=1) / np.sqrt(len(r)) if len(r) > 1 else np.nan,
                     "ratings_n": len(r)})
    table = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    table["rankings_rank"] = table["bt_score"].rank(ascending=False, method="min")
    table["ratings_rank"] = table["ratings_mean"].rank(ascending=False, method="min")
    return table.sort_values(["bt_score", "ratings_mean"], ascending=False, kind="stable").reset_index(drop=True)


def describe_orderings(table: pd.DataFrame) -> str:
    """One sentence: whether Bradley–Terry (rankings) and the mean rating (ratings) order the policies alike.

    >>> t = pd.DataFrame({"model": ["a", "b"], "rankings_rank": [1.0, 2.0], "ratings_rank": [2.0, 1.0]})
    >>> describe_orderings(t)
    'The protocols order the policies differently: a (rankings 1, ratings 2), b (rankings 2, ratings 1).'
    """
    both = table.dropna(subset=["rankings_rank", "ratings_rank"])
    moved = both[both["rankings_rank"] != both["ratings_rank"]]
    if not len(both):
        return "No policy has both a Bradley–Terry score and a mean rating."
    if not len(moved):
        return "Bradley–Terry (rankings) and the mean rating (ratings) order the policies the same way."
    parts = [f"{r.model} (rankings {r.rankings_rank:.0f}, ratings {r.ratings_rank:.0f})"
             for r in moved.itertuples(index=False)]
    return "The protocols order the policies differently: " + ", ".join(parts) + "."
