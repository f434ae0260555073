"""The leaderboard across policies: Bradley–Terry with ties as half a win each, bootstrap intervals, and the
ratings' mean score beside it (issue 26)."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from sparse_feedback.analysis.leaderboard import (
    REFERENCE, RIDGE, bradley_terry, comparisons_from_runs, describe_orderings, leaderboard, mean_ratings,
)
from sparse_feedback.formats import read_rating_feedback, write_table
from sparse_feedback.report import figures
from tests.dash_files import candidate_files
from tests.test_crossed import _evaluation_dir

STRENGTH = {REFERENCE: 0.0, "bo16 ratings RM": 0.6, "bo16 rankings RM": 0.2, "base": -0.4, "dpo": 1.1}


def battles(n: int = 900, tie_share: float = 0.3, seed: int = 0) -> pd.DataFrame:
    """Random pairs of policies judged by a Bradley–Terry truth, some of them called equal."""
    rng = np.random.default_rng(seed)
    names = list(STRENGTH)
    rows = []
    for _ in range(n):
        a, b = rng.choice(len(names), 2, replace=False)
        p = 1 / (1 + np.exp(-(STRENGTH[names[a]] - STRENGTH[names[b]])))
        label = "equal" if rng.random() < tie_share else "(a)" if rng.random() < p else "(b)"
        rows.append((names[a], names[b], label))
    return pd.DataFrame(rows, columns=["model_a", "model_b", "feedback"])


def logistic_regression_fit(comparisons: pd.DataFrame, ridge: float) -> dict:
    """An independent fit: logistic regression without intercept on the design x_a = +1, x_b = -1 (the
    reference's column dropped), each tie entered twice, as a win and as a loss of weight 1/2, by scipy's BFGS."""
    free = [m for m in pd.unique(comparisons[["model_a", "model_b"]].to_numpy().ravel()) if m != REFERENCE]
    X = np.zeros((len(comparisons), len(free)))
    for col, model in enumerate(free):
        X[:, col] = ((comparisons["model_a"] == model).to_numpy(float)
                     - (comparisons["model_b"] == model).to_numpy(float))
    y = comparisons["feedback"].map({"(a)": 1.0, "(b)": 0.0, "equal": 0.5}).to_numpy()
    design, target, weight = np.r_[X, X], np.r_[np.ones(len(y)), np.zeros(len(y))], np.r_[y, 1 - y]

    def loss(w):
        z = design @ w
        return (weight * np.logaddexp(0, np.where(target == 1, -z, z))).sum() + ridge / 2 * (w ** 2).sum()

    def grad(w):
        p = 1 / (1 + np.exp(-(design @ w)))
        return design.T @ (weight * (p - target)) + ridge * w

    fit = minimize(loss, np.zeros(len(free)), jac=grad, method="BFGS", options={"gtol": 1e-12, "maxiter": 10_000})
    return dict(zip(free, fit.x))


@pytest.mark.parametrize("ridge", [0.0, RIDGE])
def test_bradley_terry_scores_equal_an_independent_logistic_regression_to_1e_6(ridge):
    comparisons = battles()
    ours = bradley_terry(comparisons, ridge=ridge)
    theirs = logistic_regression_fit(comparisons, ridge)
    assert ours[REFERENCE] == 0 and set(ours.index) == set(theirs) | {REFERENCE}
    for model, score in theirs.items():
        assert abs(ours[model] - score) < 1e-6, model


def test_a_tie_counts_as_half_a_win_for_each_side():
    """Two policies: the fit is log(W / L) with W = wins + ties / 2 and L = losses + ties / 2."""
    c = pd.DataFrame({"model_a": REFERENCE, "model_b": "x", "feedback": ["(b)"] * 5 + ["(a)"] * 2 + ["equal"] * 3})
    assert bradley_terry(c, ridge=0)["x"] == pytest.approx(np.log((5 + 1.5) / (2 + 1.5)), abs=1e-9)
    all_ties = c.assign(feedback="equal")
    assert bradley_terry(all_ties, ridge=0)["x"] == pytest.approx(0, abs=1e-12)


def test_a_policy_that_wins_every_comparison_stays_finite():
    c = pd.DataFrame({"model_a": REFERENCE, "model_b": "x", "feedback": ["(b)"] * 20})
    score = bradley_terry(c)["x"]
    assert np.isfinite(score) and score > 3


def test_the_leaderboard_recovers_the_true_order_with_intervals_around_each_score():
    table = leaderboard(battles(n=3000, tie_share=0, seed=2), n_boot=300)  # random ties would shrink the truth
    assert table["model"].tolist() == sorted(STRENGTH, key=STRENGTH.get, reverse=True)
    free = table[table["model"] != REFERENCE]
    assert ((free["bt_low"] < free["bt_score"]) & (free["bt_score"] < free["bt_high"])).all()
    for r in free.itertuples():  # the truth lies inside each interval (the reference is the anchor, 0)
        assert r.bt_low < STRENGTH[r.model] < r.bt_high, r.model
    assert table.loc[table["model"] == REFERENCE, "win_rate_vs_reference"].item() == 50


def test_runs_give_comparisons_against_the_reference_and_their_mean_rating(tmp_path):
    files = candidate_files(tmp_path)
    from sparse_feedback.report.inputs import load_runs

    runs = load_runs(str(files["reference"]), [f"long={files['long_ratings']}", f"short={files['short_ratings']}"],
                     [f"long={files['long_feedback']}", f"short={files['short_feedback']}"])
    comparisons = comparisons_from_runs(runs)
    assert len(comparisons) == 60 and set(comparisons["model_a"]) == {REFERENCE}
    means = mean_ratings(runs)
    assert means["long"].mean() == pytest.approx(read_rating_feedback(files["long_ratings"])["rating"].mean())
    assert means[REFERENCE].mean() == pytest.approx(read_rating_feedback(files["reference"])["rating"].mean())
    table = leaderboard(comparisons, means, n_boot=100)
    # the files are built so that ratings favour the long run and the pairwise judge the short one
    row = table.set_index("model")
    assert row.at["long", "ratings_rank"] < row.at["short", "ratings_rank"]
    assert row.at["short", "rankings_rank"] < row.at["long", "rankings_rank"]
    assert describe_orderings(table).startswith("The protocols order the policies differently")
    fig = figures.leaderboard_figure(table)
    assert {t.name for t in fig.data} == {"long", "short", REFERENCE}


def test_leaderboard_cli_takes_runs_and_run_versus_run_judgements(tmp_path, cli):
    files = candidate_files(tmp_path)
    dirs = [_evaluation_dir(tmp_path / f"{run}.eval", files, run) for run in ("long", "short")]
    long_out = read_rating_feedback(files["long_ratings"])
    short_out = read_rating_feedback(files["short_ratings"])
    versus = pd.DataFrame({"instruction": long_out["instruction"], "input": "", "output1": long_out["output"],
                           "output2": short_out["output"], "feedback": "(a)"})  # long beats short every time
    write_table(versus, tmp_path / "long_vs_short.csv")
    base = ["winrate", "leaderboard", "--runs", f"long={dirs[0]}", f"short={dirs[1]}", "--bootstrap", "50", "--json"]
    without = cli(*base)
    with_versus = cli(*base, "--versus", f"long,short={tmp_path / 'long_vs_short.csv'}")
    assert without.returncode == 0 and with_versus.returncode == 0, (without.stderr, with_versus.stderr)
    a = {r["model"]: r for r in json.loads(without.stdout)["leaderboard"]}
    b = {r["model"]: r for r in json.loads(with_versus.stdout)["leaderboard"]}
    assert a["long"]["comparisons"] == 30 and b["long"]["comparisons"] == 60
    assert b["long"]["bt_score"] - b["short"]["bt_score"] > a["long"]["bt_score"] - a["short"]["bt_score"]
    bad = cli("winrate", "leaderboard", "--runs", dirs[0], "--versus", "long=x.csv")
    assert bad.returncode == 2 and "A,B=FILE" in bad.stderr
