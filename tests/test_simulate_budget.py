"""The budget simulation: soft draws with known probabilities, an unbiased weighted estimate, and the sweep."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparse_feedback.study.datasets import from_feedback, synthetic_set
from sparse_feedback.study.features import hashed_features
from sparse_feedback.study.simulate import (
    BUDGETS, hajek_consistency, inclusion_probabilities, labels_needed, naive_consistency, pair_agreement,
    priority_weights, project_features, simulate, split_items, strategy_scores, summarize, weighted_consistency,
)

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "assets" / "demo" / "paper"


def test_inclusion_probabilities_sum_to_the_budget_and_follow_the_weights():
    weights = priority_weights(np.arange(100.0))
    pi = inclusion_probabilities(weights, 20)
    assert pi.sum() == pytest.approx(20, abs=1e-6)
    assert (np.diff(pi) >= 0).all() and pi.min() > 0 and pi.max() <= 1
    assert pi[-1] / pi[0] == pytest.approx(np.exp(3 * (1 - 0.01)), rel=1e-6)


def test_the_weighted_consistency_estimate_is_unbiased_where_the_truth_is_known():
    """200 draws of 10 % of a synthetic pool, drawn by the uncertainty strategy (which favours pairs the
    ratings and rankings disagree on): the weighted estimate's mean error is within 2 standard errors of 0
    (the same fixed draws every run), while the naive one is off by many."""
    data = synthetic_set(n_instructions=200, seed=3)
    pool_items, _ = split_items(data.pairs["item"], seed=0)
    pool = data.pairs[data.pairs["item"].isin(pool_items)].reset_index(drop=True)
    rated, agree = pair_agreement(data, pool)
    truth = 100 * agree[rated].mean()  # the pool's full-data consistency, known exactly
    weights = priority_weights(strategy_scores(data, pool, project_features(data.features), pool_items)["uncertainty"])
    pi = inclusion_probabilities(weights, 0.10 * len(pool))
    rng = np.random.default_rng(0)
    naive, weighted = [], []
    for _ in range(200):
        drawn = (rng.random(len(pool)) < pi) & rated
        naive.append(naive_consistency(agree[drawn]).value - truth)
        weighted.append(weighted_consistency(agree[drawn], pi[drawn], int(rated.sum())).value - truth)
    weighted, naive = np.array(weighted), np.array(naive)
    se = weighted.std(ddof=1) / np.sqrt(len(weighted))
    assert abs(weighted.mean()) <= 2 * se
    assert abs(naive.mean()) > 10 * naive.std(ddof=1) / np.sqrt(len(naive))


def test_the_weighted_estimates_count_each_pair_by_its_inverse_probability():
    est = hajek_consistency([1, 1, 0], [0.25, 0.5, 0.5])
    assert est.value == pytest.approx(100 * (4 + 2) / (4 + 2 + 2))
    assert est.low < est.value < est.high
    assert weighted_consistency([1, 1, 0], [0.25, 0.5, 0.5], population=10).value == pytest.approx(100 * 6 / 10)
    assert naive_consistency([1, 1, 0]).value == pytest.approx(200 / 3)


def test_the_sweep_covers_every_strategy_budget_and_seed_and_agrees_at_the_full_budget():
    data = synthetic_set(n_instructions=40, seed=1)
    results = simulate(data, seeds=range(3))
    assert len(results) == 3 * 4 * len(BUDGETS)
    full = results[results["budget"] == 1.0]
    # every strategy labels the whole pool at 100 %: one accuracy and an exact consistency per seed
    assert full.groupby("seed")["accuracy"].nunique().eq(1).all()
    assert (full["labels"] == full["pool"]).all() and np.allclose(full["weighted"], full["full_consistency"])
    small = results[results["budget"] == 0.05]
    assert (small["labels"] < small["pool"] * 0.2).all()
    summary = summarize(results)
    assert set(summary["seeds"]) == {3} and summary["accuracy"].between(0, 100).all()


def test_labels_needed_interpolates_to_within_one_point_and_divides_by_random():
    rows = []
    for strategy, curve in (("random", [60, 70, 80, 90]), ("smart", [60, 80, 89.5, 90])):
        for labels, acc in zip([10, 20, 40, 80], curve):
            rows.append(dict(dataset="d", strategy=strategy, budget=labels / 80, labels=labels, accuracy=acc))
    table = labels_needed(pd.DataFrame(rows)).set_index("strategy")
    assert table.loc["random", "labels_needed"] == pytest.approx(40 + 40 * (89 - 80) / 10)
    assert table.loc["smart", "labels_needed"] == pytest.approx(20 + 20 * (89 - 80) / 9.5)
    assert table.loc["smart", "ratio_to_random"] == pytest.approx(table.loc["smart", "labels_needed"] / 76)


def test_a_feedback_file_becomes_a_labelled_set_with_its_llm_labels_as_the_oracle():
    from sparse_feedback import formats

    ratings = formats.read_rating_feedback(PAPER / "llm_ratings.csv", warn=lambda _m: None)
    rankings = formats.read_ranking_feedback(PAPER / "llm_rankings.csv", warn=lambda _m: None)
    seen = []
    data = from_feedback("paper", ratings, rankings, lambda i, x, r: seen.append(len(r)) or hashed_features(r))
    assert seen == [len(data.rows)]  # features once, one row per distinct response
    assert len(data.pairs) == 118 and data.pairs["label"].value_counts().to_dict() == \
        rankings["feedback"].value_counts().to_dict()
    rated, agree = pair_agreement(data, data.pairs)
    assert rated.sum() == 117 and 100 * agree[rated].mean() == pytest.approx(56.41, abs=0.01)  # the paper's figure


def test_simulate_budget_prints_the_ratio_table(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sparse_feedback", "simulate-budget", "--set", "synthetic",
                          "--seeds", "5", "--output", str(tmp_path), "--json"], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    table = json.loads(out.stdout)
    assert [row["strategy"] for row in table] == ["random", "disagreement", "uncertainty", "coverage"]
    assert table[0]["ratio_to_random"] == 1.0
    assert all(row["ratio_low"] <= row["ratio_to_random"] <= row["ratio_high"] for row in table)
    assert {p.name for p in tmp_path.iterdir()} >= {"results.csv", "summary.csv", "ratio.csv", "budget.html"}
    assert len(pd.read_csv(tmp_path / "results.csv")) == 5 * 4 * len(BUDGETS)


def test_simulate_budget_refuses_a_file_set_without_its_files():
    out = subprocess.run([sys.executable, "-m", "sparse_feedback", "simulate-budget", "--set", "file"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2 and "--ratings and --rankings" in out.stderr
