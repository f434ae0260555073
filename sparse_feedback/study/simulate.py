"""Does a queue strategy save labels? Replay it on a fully labelled feedback set under a label budget.

For each seed the instructions are split into a pool and a held-out set; each strategy orders the pool's pairs
with the same functions the store's queue uses (:mod:`sparse_feedback.study.selection`), and a budget of
``b`` labels is drawn from that order *softly*: each pair is labelled independently with a probability rising
as ``exp(temperature x its priority rank)`` (scaled so the expected count is ``b``). Every pair thus keeps a
known, positive chance, which is what lets the inverse-propensity-weighted estimate undo the strategy's bias;
a strict top-``b`` would leave the others at zero chance, where no weighting can help.

Measured per draw: (a) the held-out pairwise accuracy of a Bradley-Terry head trained on the drawn labels
over frozen response features, and (b) the ratings-vs-rankings consistency estimated from the drawn pairs,
naive, weighted (Horvitz-Thompson: unbiased) and Hajek (the weighted ratio: nearly unbiased, less spread), each
with its 95 % interval, against the pool's full-data value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sparse_feedback.analysis.consistency import implied_preference
from sparse_feedback.study.selection import STRATEGIES, strategy_order

BUDGETS = (0.05, 0.10, 0.20, 0.40, 1.00)
TEMPERATURE = 3.0  # top priority drawn e^3 ~ 20x as often as the bottom
Z95 = 1.959964
ESTIMATES = ("naive", "hajek", "weighted")  # consistency estimates, see their functions


@dataclass
class LabelledSet:
    """A fully labelled feedback set in id terms (see :mod:`~sparse_feedback.study.selection`).

    ``pairs``: ``task_id, item, index1, index2, label`` (the oracle's ranking, pair terms) and ``truth`` (the
    label accuracy is measured against: the oracle's own label, or a synthetic set's true preference);
    ``ratings``: the oracle's ``item, index, rating``; ``llm_orders`` / ``llm_ratings``: the LLM signals the
    disagreement strategy reads; ``features``: one row per response, ``rows`` maps ``(item, index)`` to it.
    ``texts``: the responses' texts (a file's set; the synthetic one has none)."""

    name: str
    pairs: pd.DataFrame
    ratings: pd.DataFrame
    llm_orders: pd.DataFrame
    llm_ratings: pd.DataFrame
    features: np.ndarray
    rows: dict = field(default_factory=dict)
    texts: dict = field(default_factory=dict)  # (item, index) -> (instruction, input, response), where known

    def feature_rows(self, item, index) -> np.ndarray:
        return np.array([self.rows[(i, r)] for i, r in zip(item, index)], dtype=np.int64)


# ---------------------------------------------------------------- drawing a budget
def priority_weights(score, temperature: float = TEMPERATURE) -> np.ndarray:
    """``exp(temperature x percentile rank of score)``; equal scores get equal weight.

    >>> priority_weights([0.0, 0.0]).tolist(), priority_weights([2.0, 1.0], 1.0).round(3).tolist()
    ([1.0, 1.0], [2.718, 1.649])
    """
    score = pd.Series(np.asarray(score, dtype=float))
    if score.nunique() <= 1:
        return np.ones(len(score))
    return np.exp(temperature * score.rank(method="average", pct=True).to_numpy())


def inclusion_probabilities(weights, expected: float) -> np.ndarray:
    """``min(1, c x weight)`` with ``c`` chosen so the probabilities sum to ``expected`` (water-filling).

    >>> inclusion_probabilities([1, 1, 2, 4], 2).round(3).tolist()
    [0.25, 0.25, 0.5, 1.0]
    >>> inclusion_probabilities([1, 1, 100], 2).round(6).tolist()
    [0.5, 0.5, 1.0]
    """
    w = np.asarray(weights, dtype=float)
    if expected >= len(w):
        return np.ones(len(w))
    lo, hi = 0.0, expected / w.min()
    for _ in range(100):
        c = (lo + hi) / 2
        lo, hi = (c, hi) if np.minimum(1.0, c * w).sum() < expected else (lo, c)
    return np.minimum(1.0, hi * w)


# ---------------------------------------------------------------- (b) consistency estimates
@dataclass(frozen=True)
class Estimate:
    value: float  # percent
    low: float
    high: float
    n: int

    def covers(self, truth: float) -> bool:
        return bool(self.low <= truth <= self.high)


def naive_consistency(agree) -> Estimate:
    """Percent of the drawn pairs whose ratings imply their ranking, with a normal 95 % interval.

    >>> naive_consistency([1, 1, 0, 1]).value
    75.0
    """
    c = np.asarray(agree, dtype=float)
    if not len(c):
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    p = float(c.mean())
    half = Z95 * float(np.sqrt(p * (1 - p) / len(c)))
    return Estimate(100 * p, 100 * (p - half), 100 * (p + half), len(c))


def hajek_consistency(agree, probabilities) -> Estimate:
    """The Hajek (inverse-propensity-weighted ratio) estimate of the pool's consistency from pairs drawn with
    ``probabilities``, with its linearised 95 % interval: ``sum(c / pi) / sum(1 / pi)``. Nearly unbiased (its
    bias shrinks as 1 / n) and about half the spread of :func:`weighted_consistency`.

    >>> round(hajek_consistency([1, 0], [0.5, 1.0]).value, 2)  # the rarely drawn agreeing pair counts twice
    66.67
    """
    c, pi = np.asarray(agree, dtype=float), np.asarray(probabilities, dtype=float)
    if not len(c):
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    w = 1.0 / pi
    p = float((w * c).sum() / w.sum())
    half = Z95 * np.sqrt(float(((1 - pi) * w ** 2 * (c - p) ** 2).sum() / w.sum() ** 2))
    return Estimate(100 * p, 100 * (p - half), 100 * (p + half), len(c))


def weighted_consistency(agree, probabilities, population: int) -> Estimate:
    """The Horvitz-Thompson estimate ``sum(c / pi) / N`` over a pool of ``population`` pairs: exactly unbiased
    under independent draws with known ``probabilities``, with its unbiased variance ``sum((1 - pi) c / pi^2)
    / N^2`` for the 95 % interval.

    >>> weighted_consistency([1, 0], [0.5, 1.0], population=4).value
    50.0
    """
    c, pi = np.asarray(agree, dtype=float), np.asarray(probabilities, dtype=float)
    if not population:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    p = float((c / pi).sum() / population)
    half = Z95 * np.sqrt(float(((1 - pi) * c / pi ** 2).sum()) / population ** 2)
    return Estimate(100 * p, 100 * (p - half), 100 * (p + half), len(c))


def pair_agreement(data: LabelledSet, pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For ``pairs``: whether both responses carry an oracle rating, and whether those imply the ranking."""
    lookup = data.ratings.set_index(["item", "index"])["rating"]
    r1, r2 = (lookup.reindex(pd.MultiIndex.from_arrays([pairs["item"], pairs[c]])).to_numpy(dtype=float)
              for c in ("index1", "index2"))
    rated = ~(np.isnan(r1) | np.isnan(r2))
    implied = np.full(len(pairs), None, dtype=object)
    implied[rated] = implied_preference(r1[rated], r2[rated])
    return rated, implied == pairs["label"].to_numpy(dtype=object)


# ---------------------------------------------------------------- (a) a Bradley-Terry head on frozen features
def project_features(features: np.ndarray, dims: int = 32) -> np.ndarray:
    """Standardised principal components of the responses' features (unsupervised: no label is used)."""
    x = features - features.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    z = u[:, :dims] * s[:dims]
    return z / (z.std(axis=0) + 1e-8)


def fit_bradley_terry(diff: np.ndarray, win: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Weights ``w`` of ``P(first preferred) = sigmoid(w . (x_first - x_second))``: L2-penalised logistic
    regression without intercept (Newton steps; the problem is small and convex)."""
    w = np.zeros(diff.shape[1])
    if not len(diff):
        return w
    y = np.asarray(win, dtype=float)
    for _ in range(50):
        p = 1 / (1 + np.exp(-diff @ w))
        grad = diff.T @ (p - y) + l2 * w
        hess = (diff * (p * (1 - p))[:, None]).T @ diff + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def pairwise_accuracy(w: np.ndarray, diff: np.ndarray, first_wins: np.ndarray) -> float:
    """Percent of decided pairs the head orders correctly (a zero margin counts half)."""
    margin = diff @ w
    return float(100 * np.mean(np.where(margin == 0, 0.5, (margin > 0) == first_wins)))


def pair_differences(data: LabelledSet, z: np.ndarray, pairs: pd.DataFrame) -> np.ndarray:
    """``z[first response] - z[second response]`` of each pair: what the Bradley-Terry head reads."""
    return z[data.feature_rows(pairs["item"], pairs["index1"])] - z[data.feature_rows(pairs["item"], pairs["index2"])]


def ratings_rm(data: LabelledSet, z: np.ndarray, pool_items, l2: float = 1.0) -> pd.DataFrame:
    """The RM the uncertainty strategy reads: ridge regression of the LLM's ratings on the pool's features
    (cheap labels an admin already has), as rewards ``item, index, reward`` for every response."""
    rated = data.llm_ratings[data.llm_ratings["item"].isin(pool_items)]
    x = z[data.feature_rows(rated["item"], rated["index"])]
    y = rated["rating"].to_numpy(dtype=float) - rated["rating"].mean()
    w = np.linalg.solve(x.T @ x + l2 * np.eye(x.shape[1]), x.T @ y)
    keys = pd.DataFrame(list(data.rows), columns=["item", "index"])
    return keys.assign(reward=z[data.feature_rows(keys["item"], keys["index"])] @ w)


# ---------------------------------------------------------------- the sweep
def strategy_scores(data: LabelledSet, pool: pd.DataFrame, z: np.ndarray, pool_items) -> dict[str, np.ndarray]:
    """Each strategy's score for each pool pair (aligned with ``pool``), from :func:`strategy_order`."""
    rewards = ratings_rm(data, z, pool_items) if len(data.llm_ratings) else None
    answers = pd.DataFrame({"item": pd.unique(pool["item"]), "answers": 0})
    out = {}
    for strategy in STRATEGIES:
        order = strategy_order(strategy, "rankings", pool, orders=data.llm_orders, ratings=data.llm_ratings,
                               rewards=rewards, model="ratings-head", answers=answers)
        out[strategy] = order.set_index("task_id")["score"].reindex(pool["task_id"]).to_numpy(dtype=float)
    return out


def split_items(items, seed: int, held_out: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Instructions as (pool, held-out), shuffled by ``seed``: a held-out instruction's pairs are never drawn."""
    items = np.asarray(sorted(pd.unique(np.asarray(items))))
    rng = np.random.default_rng(seed)
    items = items[rng.permutation(len(items))]
    cut = max(1, int(round(held_out * len(items))))
    return items[cut:], items[:cut]


@dataclass
class Draw:
    """One budget drawn by one strategy on one seed's split: ``drawn`` marks the pool pairs labelled, each
    with probability ``pi``."""

    seed: int
    strategy: str
    budget: float
    pool: pd.DataFrame
    test: pd.DataFrame  # held-out pairs with a decided true preference
    pi: np.ndarray
    drawn: np.ndarray


def draws(data: LabelledSet, strategies=STRATEGIES, budgets=BUDGETS, seeds=range(5), temperature: float = TEMPERATURE,
          z: np.ndarray | None = None):
    """Every :class:`Draw` of the sweep, seed by seed (each seed's split and strategy scores computed once)."""
    z = project_features(data.features) if z is None else z
    for seed in seeds:
        pool_items, test_items = split_items(data.pairs["item"], seed)
        pool = data.pairs[data.pairs["item"].isin(pool_items)].reset_index(drop=True)
        test = data.pairs[data.pairs["item"].isin(test_items) & (data.pairs["truth"] != "equal")]
        scores = strategy_scores(data, pool, z, pool_items)
        for s_index, strategy in enumerate(strategies):
            weights = priority_weights(scores[strategy], temperature)
            for b_index, budget in enumerate(budgets):
                pi = inclusion_probabilities(weights, budget * len(pool))
                drawn = np.random.default_rng([seed, s_index, b_index]).random(len(pool)) < pi
                yield Draw(seed, strategy, budget, pool, test, pi, drawn)


def simulate(data: LabelledSet, strategies=STRATEGIES, budgets=BUDGETS, seeds=range(5),
             temperature: float = TEMPERATURE, l2: float = 1.0, dims: int = 32, progress=None) -> pd.DataFrame:
    """One row per (seed, strategy, budget): labels drawn, held-out accuracy, the consistency estimates and
    the pool's full-data consistency. ``progress``: a ``callback(done, total, desc)``."""
    z = project_features(data.features, dims)
    rows, total, cache = [], len(seeds) * len(strategies) * len(budgets), {}
    for d in draws(data, strategies, budgets, seeds, temperature, z):
        if d.seed not in cache:  # per seed: the pool's feature differences and its full-data consistency
            rated, agree = pair_agreement(data, d.pool)
            cache = {d.seed: (pair_differences(data, z, d.pool), pair_differences(data, z, d.test), rated, agree)}
        pool_diff, test_diff, rated, agree = cache[d.seed]
        full = 100 * agree[rated].mean() if rated.any() else float("nan")
        decided = d.drawn & (d.pool["label"] != "equal").to_numpy()
        w = fit_bradley_terry(pool_diff[decided], (d.pool["label"] == "(a)").to_numpy()[decided], l2)
        sample = d.drawn & rated
        estimates = dict(naive=naive_consistency(agree[sample]), hajek=hajek_consistency(agree[sample], d.pi[sample]),
                         weighted=weighted_consistency(agree[sample], d.pi[sample], int(rated.sum())))
        rows.append(dict(dataset=data.name, seed=d.seed, strategy=d.strategy, budget=d.budget, pool=len(d.pool),
                         labels=int(d.drawn.sum()),
                         accuracy=pairwise_accuracy(w, test_diff, (d.test["truth"] == "(a)").to_numpy()),
                         full_consistency=full,
                         **{k: e.value for k, e in estimates.items()},
                         **{f"{k}_covers": e.covers(full) for k, e in estimates.items()}))
        if progress:
            progress(len(rows), total, "simulate")
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, strategy, budget): mean labels, accuracy mean and its 95 % band over seeds, the mean
    absolute error of each consistency estimate and how often its interval covered the full-data value."""
    r = results.assign(**{f"{e}_error": (results[e] - results["full_consistency"]).abs() for e in ESTIMATES})
    g = r.groupby(["dataset", "strategy", "budget"], sort=False)
    out = g.agg(seeds=("seed", "nunique"), labels=("labels", "mean"), accuracy=("accuracy", "mean"),
                accuracy_sd=("accuracy", "std"),
                **{f"{e}_{k}": (f"{e}_{c}", "mean") for e in ESTIMATES for k, c in (("error", "error"),
                                                                                    ("coverage", "covers"))}
                ).reset_index()
    out["band"] = Z95 * out["accuracy_sd"].fillna(0) / np.sqrt(out["seeds"])
    for e in ESTIMATES:
        out[f"{e}_coverage"] = 100 * out[f"{e}_coverage"]
    return out


def _needed(labels: np.ndarray, accuracy: np.ndarray, target: float) -> float:
    """The labels where a curve (sorted by labels) first reaches ``target``, linearly interpolated; its last
    point's labels when it never does."""
    for k in range(len(labels)):
        if accuracy[k] >= target:
            if k == 0 or accuracy[k - 1] >= accuracy[k]:
                return float(labels[k])
            step = (target - accuracy[k - 1]) / (accuracy[k] - accuracy[k - 1])
            return float(labels[k - 1] + (labels[k] - labels[k - 1]) * step)
    return float(labels[-1])


def labels_needed(summary: pd.DataFrame, within: float = 1.0) -> pd.DataFrame:
    """Per (dataset, strategy): the labels at which the mean accuracy first comes within ``within`` points of
    the full-data accuracy (the largest budget, averaged over strategies), linearly interpolated between
    budgets, and its ratio to ``random``'s."""
    rows = []
    for dataset, part in summary.groupby("dataset", sort=False):
        full = part[part["budget"] == part["budget"].max()]["accuracy"].mean()
        for strategy, curve in part.groupby("strategy", sort=False):
            curve = curve.sort_values("budget")
            need = _needed(curve["labels"].to_numpy(), curve["accuracy"].to_numpy(), full - within)
            rows.append(dict(dataset=dataset, strategy=strategy, full_accuracy=full, labels_needed=need))
    out = pd.DataFrame(rows)
    base = out[out["strategy"] == "random"].set_index("dataset")["labels_needed"]
    out["ratio_to_random"] = out["labels_needed"] / out["dataset"].map(base)
    return out


def ratio_intervals(results: pd.DataFrame, reps: int = 500, within: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """:func:`labels_needed` with a 95 % bootstrap interval of each ratio: seeds resampled with replacement
    (all strategies of a seed together, as they share its split)."""
    point = labels_needed(summarize(results), within)
    rng, bounds = np.random.default_rng(seed), []
    for dataset, part in results.groupby("dataset", sort=False):
        strategies = list(pd.unique(part["strategy"]))
        cube = {v: part.pivot_table(index="seed", columns=["strategy", "budget"], values=v)
                .reindex(columns=pd.MultiIndex.from_product([strategies, sorted(part["budget"].unique())]))
                .to_numpy().reshape(part["seed"].nunique(), len(strategies), -1) for v in ("labels", "accuracy")}
        picks = rng.integers(0, len(cube["labels"]), (reps, len(cube["labels"])))
        labels, accuracy = cube["labels"][picks].mean(axis=1), cube["accuracy"][picks].mean(axis=1)
        target = accuracy[:, :, -1].mean(axis=1) - within
        need = np.array([[_needed(labels[r, k], accuracy[r, k], target[r]) for k in range(len(strategies))]
                         for r in range(reps)])
        ratio = need / need[:, [strategies.index("random")]] if "random" in strategies else need * np.nan
        low, high = np.nanquantile(ratio, [0.025, 0.975], axis=0)
        bounds += [dict(dataset=dataset, strategy=s, ratio_low=lo, ratio_high=hi)
                   for s, lo, hi in zip(strategies, low, high)]
    return point.merge(pd.DataFrame(bounds), on=["dataset", "strategy"], how="left")
