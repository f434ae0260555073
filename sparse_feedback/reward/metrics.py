"""Reward-model metrics as pure functions of tables and scores (they never open files).

In-protocol: a ratings RM's MSE and Spearman with the ratings; a rankings RM's pairwise accuracy.
Cross-protocol (the paper's point): a rankings RM's accuracy on the pairs that ratings imply (ties
dropped), and a ratings RM's accuracy on ranking pairs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from sparse_feedback.analysis import implied_preference


def accuracy_interval(accuracy: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson 95 % interval of an accuracy measured on ``n`` pairs: honest at the handful of held-out pairs a
    small run has, where the normal approximation would leave [0, 1].

    >>> [round(x, 3) for x in accuracy_interval(2 / 9, 9)]
    [0.063, 0.547]
    """
    if n <= 0:
        return (float("nan"), float("nan"))
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _number(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else round(x, 6)


def pairwise_accuracy(chosen_scores, rejected_scores) -> dict:
    """Share of pairs where the chosen response scores higher (a tie counts half).

    >>> pairwise_accuracy([2.0, 0.5, 1.0], [1.0, 0.7, 1.0])
    {'accuracy': 0.5, 'mean_margin': 0.266667, 'n_pairs': 3}
    """
    chosen, rejected = np.asarray(chosen_scores, float), np.asarray(rejected_scores, float)
    if not len(chosen):
        return {"accuracy": None, "mean_margin": None, "n_pairs": 0}
    accuracy = np.mean((chosen > rejected) + 0.5 * (chosen == rejected))
    return {"accuracy": _number(accuracy), "mean_margin": _number(np.mean(chosen - rejected)),
            "n_pairs": int(len(chosen))}


def rating_implied_pairs(ratings: pd.DataFrame) -> pd.DataFrame:
    """Every pair of responses to the same prompt with different ratings, as row positions ``chosen, rejected``.

    >>> t = pd.DataFrame({"prompt": ["p", "p", "p", "q"], "rating": [5, 3, 5, 7]})
    >>> rating_implied_pairs(t).values.tolist()
    [[0, 1], [2, 1]]
    """
    firsts, seconds = [], []
    for rows in ratings.groupby("prompt", sort=False).indices.values():
        i, j = np.triu_indices(len(rows), k=1)
        firsts.append(rows[i]), seconds.append(rows[j])
    first = np.concatenate(firsts) if firsts else np.zeros(0, int)
    second = np.concatenate(seconds) if seconds else np.zeros(0, int)
    values = ratings["rating"].to_numpy()
    implied = implied_preference(values[first], values[second])
    keep = implied != "equal"
    a_wins = implied[keep] == "(a)"
    first, second = first[keep], second[keep]
    return pd.DataFrame({"chosen": np.where(a_wins, first, second), "rejected": np.where(a_wins, second, first)})


def ratings_metrics(ratings, scores) -> dict:
    """MSE of sigmoid(score) against (rating - 1) / 6, and Spearman correlation of scores with ratings.

    >>> ratings_metrics([1, 4, 7], [-3.0, 0.0, 3.0])
    {'mse': 0.001499, 'spearman': 1.0, 'n': 3}
    """
    ratings, scores = np.asarray(ratings, float), np.asarray(scores, float)
    if not len(ratings):
        return {"mse": None, "spearman": None, "n": 0}
    mse = np.mean((1 / (1 + np.exp(-scores)) - (ratings - 1) / 6) ** 2)
    constant = np.all(ratings == ratings[0]) or np.all(scores == scores[0])
    rho = float("nan") if constant else spearmanr(scores, ratings).statistic
    return {"mse": _number(mse), "spearman": _number(rho), "n": int(len(ratings))}


def implied_pairs_accuracy(ratings: pd.DataFrame, scores) -> dict:
    """Accuracy of per-response scores on the pairs the ratings imply (ties dropped)."""
    pairs = rating_implied_pairs(ratings)
    scores = np.asarray(scores, float)
    return pairwise_accuracy(scores[pairs["chosen"].to_numpy()], scores[pairs["rejected"].to_numpy()])


def evaluate(protocol: str, table: pd.DataFrame, scores) -> dict:
    """Metrics of a model's ``scores`` on a table of either protocol.

    Ratings table (``prompt, response, rating``; one score per row): MSE, Spearman and accuracy on
    rating-implied pairs. Rankings table (``prompt, chosen, rejected``; scores alternate chosen,
    rejected): pairwise accuracy.
    """
    scores = np.asarray(scores, float)
    if protocol == "ratings":
        return {**ratings_metrics(table["rating"], scores),
                "implied_pairs": implied_pairs_accuracy(table, scores)}
    return pairwise_accuracy(scores[0::2], scores[1::2])
