"""The paper's analyses on small hand-made frames: every branch of consistency and both win-rates."""

import json
import math
import statistics

import numpy as np
import pandas as pd
import pytest

from feedback_files import csv_headerless
from sparse_feedback.analysis import (
    confusion_matrix, consistency, implied_preference, pairs_with_ratings, summarize, win_rate_rankings,
    win_rate_ratings,
)


def ratings(*rows):
    """rows: (instruction, input, output, rating)."""
    return pd.DataFrame(rows, columns=["instruction", "input", "output", "rating"])


def rankings(*rows):
    """rows: (instruction, input, output1, output2, feedback)."""
    return pd.DataFrame(rows, columns=["instruction", "input", "output1", "output2", "feedback"])


RATED = ratings(("q", "", "A", 6), ("q", "", "B", 3), ("q", "", "C", 3), ("p", "ctx", "A", 2))


def test_implied_preference_is_a_when_first_is_higher_b_when_lower_equal_when_same():
    assert implied_preference([7, 1, 4], [1, 7, 4]).tolist() == ["(a)", "(b)", "equal"]


def test_consistency_is_the_percent_of_pairs_whose_implied_preference_matches():
    ranked = rankings(("q", "", "A", "B", "(a)"),    # implied (a): agrees
                      ("q", "", "B", "A", "(b)"),    # implied (b): agrees
                      ("q", "", "B", "C", "(a)"),    # implied equal: disagrees
                      ("q", "", "A", "C", "equal"))  # implied (a): disagrees
    result = consistency(RATED, ranked)
    assert (result.consistency, result.n_pairs) == (50.0, 4)
    assert result.confusion["(a)"] == {"(a)": 1, "(b)": 0, "equal": 1}
    assert result.confusion["equal"] == {"(a)": 1, "(b)": 0, "equal": 0}
    assert result.confusion["(b)"] == {"(a)": 0, "(b)": 1, "equal": 0}


def test_consistency_confusion_has_every_cell_even_when_empty():
    result = consistency(RATED, rankings(("q", "", "A", "B", "(a)")))
    assert {i: set(row) for i, row in result.confusion.items()} == {
        label: {"(a)", "(b)", "equal"} for label in ("(a)", "(b)", "equal")}
    assert sum(sum(row.values()) for row in result.confusion.values()) == 1


def test_duplicate_ranked_pairs_count_once_the_first_one():
    ranked = rankings(("q", "", "A", "B", "(a)"), ("q", "", "A", "B", "(b)"), ("q", "", "A", "B", "(b)"))
    assert (consistency(RATED, ranked).consistency, consistency(RATED, ranked).n_pairs) == (100.0, 1)


def test_the_same_pair_in_the_other_order_is_a_different_pair():
    ranked = rankings(("q", "", "A", "B", "(a)"), ("q", "", "B", "A", "(a)"))
    assert consistency(RATED, ranked).n_pairs == 2


def test_duplicate_ratings_first_counts():
    rated = ratings(("q", "", "A", 2), ("q", "", "A", 7), ("q", "", "B", 5))
    pairs = pairs_with_ratings(rated, rankings(("q", "", "A", "B", "(b)")))
    assert pairs[["rating1", "rating2", "implied"]].values.tolist() == [[2, 5, "(b)"]]


def test_pairs_with_an_unrated_response_are_left_out():
    ranked = rankings(("q", "", "A", "B", "(a)"), ("q", "", "A", "Z", "(a)"), ("q", "", "Z", "A", "(b)"))
    result = consistency(RATED, ranked)
    assert result.n_pairs == 1


def test_responses_match_on_instruction_and_input_too():
    # "A" is rated for (q, "") and (p, "ctx"), but not for (p, ""): that pair has no ratings.
    ranked = rankings(("p", "", "A", "B", "(a)"), ("p", "ctx", "A", "A", "equal"))
    pairs = pairs_with_ratings(RATED, ranked)
    assert pairs[["instruction", "input"]].values.tolist() == [["p", "ctx"]]


def test_missing_input_nan_matches_the_empty_string():
    rated = ratings(("q", float("nan"), "A", 6), ("q", None, "B", 3))
    assert consistency(rated, rankings(("q", "", "A", "B", "(a)"))).n_pairs == 1


def test_pairs_with_ratings_keeps_the_rankings_columns():
    ranked = rankings(("q", "", "A", "B", "(a)")).assign(annotator="ann")
    pairs = pairs_with_ratings(RATED, ranked)
    assert list(pairs.columns) == ["instruction", "input", "output1", "output2", "feedback", "annotator",
                                   "rating1", "rating2", "implied"]


def test_consistency_of_no_pairs_is_null_not_nan():
    result = consistency(RATED, rankings(("x", "", "A", "B", "(a)")))
    assert result.n_pairs == 0 and math.isnan(result.consistency)
    assert json.loads(json.dumps(result.to_dict()))["consistency"] is None  # valid JSON, no NaN


def test_consistency_of_empty_frames_does_not_crash():
    assert consistency(RATED.iloc[:0], rankings()).n_pairs == 0
    assert consistency(RATED, rankings()).to_dict()["consistency"] is None


def test_confusion_matrix_counts_label_pairs():
    assert confusion_matrix(["(a)", "(a)", "equal"], ["(a)", "(b)", "(b)"]) == {
        "(a)": {"(a)": 1, "(b)": 1, "equal": 0}, "(b)": {"(a)": 0, "(b)": 0, "equal": 0},
        "equal": {"(a)": 0, "(b)": 1, "equal": 0}}


def test_unknown_label_in_a_frame_is_a_value_error():
    with pytest.raises(ValueError, match="unknown feedback label"):
        consistency(RATED, rankings(("q", "", "A", "B", "A is better")))
    with pytest.raises(ValueError, match="unknown feedback label"):
        win_rate_rankings(rankings(("q", "", "A", "B", "(c)")))


# ---------------------------------------------------------------- win-rates

def test_ratings_win_rate_scores_higher_1_equal_half_lower_0():
    reference = ratings(("a", "", "r", 4), ("b", "", "r", 4), ("c", "", "r", 4))
    candidate = ratings(("a", "", "c", 5), ("b", "", "c", 4), ("c", "", "c", 3))
    result = win_rate_ratings(reference, candidate)
    assert (result.win_rate, result.n, result.wins, result.ties, result.losses) == (50.0, 3, 1, 1, 1)


def test_ratings_win_rate_matches_on_instruction_and_input_first_counts():
    reference = ratings(("a", "", "r", 4), ("a", "x", "r", 1), ("a", "", "r2", 7))  # 3rd: duplicate context
    candidate = ratings(("a", "x", "c", 2), ("a", "", "c", 5), ("a", "", "c2", 1))
    result = win_rate_ratings(reference, candidate)
    assert (result.n, result.wins, result.losses) == (2, 2, 0)  # (a,"") 5 > 4 and (a,x) 2 > 1


def test_ratings_win_rate_leaves_out_instructions_only_one_side_rated():
    reference = ratings(("a", "", "r", 4), ("b", "", "r", 4))
    candidate = ratings(("b", "", "c", 1), ("z", "", "c", 7))
    result = win_rate_ratings(reference, candidate)
    assert (result.n, result.win_rate) == (1, 0.0)


def test_rankings_win_rate_scores_b_1_equal_half_a_0():
    result = win_rate_rankings(rankings(("a", "", "r", "c", "(b)"), ("b", "", "r", "c", "(b)"),
                                        ("c", "", "r", "c", "equal"), ("d", "", "r", "c", "(a)")))
    assert (result.win_rate, result.n, result.wins, result.ties, result.losses) == (62.5, 4, 2, 1, 1)


def test_ci95_is_1_96_sample_std_over_sqrt_n():
    scores = [1, 1, 0.5, 0, 1, 0, 0.5, 1]
    expected = 100 * 1.96 * statistics.stdev(scores) / math.sqrt(len(scores))
    assert summarize(scores).ci95 == pytest.approx(expected, abs=1e-4)
    assert summarize(scores).win_rate == pytest.approx(100 * statistics.mean(scores))


def test_all_ties_give_fifty_percent_and_a_zero_interval():
    result = summarize([0.5] * 10)
    assert (result.win_rate, result.ci95, result.ties) == (50.0, 0.0, 10)


def test_win_rate_of_nothing_is_null_not_a_crash():
    empty = summarize([])
    assert empty.n == 0 and json.loads(json.dumps(empty.to_dict()))["win_rate"] is None
    assert "n=0" in str(empty)
    assert win_rate_ratings(ratings(("a", "", "r", 4)), ratings(("b", "", "c", 4))).n == 0
    assert win_rate_rankings(rankings()).n == 0


def test_one_score_has_a_mean_but_no_interval():
    one = summarize([1]).to_dict()
    assert (one["win_rate"], one["ci95"], one["n"]) == (100.0, None, 1)


def test_analyses_accept_arrow_string_columns():
    rated = RATED.astype({c: "str" for c in ("instruction", "input", "output")})
    ranked = rankings(("q", "", "A", "B", "(a)")).astype("str")
    assert consistency(rated, ranked).n_pairs == 1
    assert win_rate_rankings(ranked).win_rate == 0.0


# ---------------------------------------------------------------- CLI

@pytest.mark.slow
def test_consistency_cli_prints_a_readable_table_without_json(cli, tmp_path):
    r = csv_headerless(RATED.to_dict(orient="records"), tmp_path / "r.csv")
    k = csv_headerless(rankings(("q", "", "A", "B", "(a)"), ("q", "", "B", "C", "(a)")).to_dict(orient="records"),
                       tmp_path / "k.csv")
    out = cli("consistency", "--ratings", r, "--rankings", k)
    assert out.returncode == 0, out.stderr
    assert "consistency 50.00 % over 2 pairs" in out.stdout
    assert "implied" in out.stdout and out.stdout.count("\n") == 5
    as_json = json.loads(cli("consistency", "--ratings", r, "--rankings", k, "--json").stdout)
    assert as_json == {"consistency": 50.0, "n_pairs": 2, "confusion": consistency(
        RATED, rankings(("q", "", "A", "B", "(a)"), ("q", "", "B", "C", "(a)"))).confusion}


@pytest.mark.slow
def test_winrate_cli_with_no_overlap_prints_valid_json(cli, tmp_path):
    ref = csv_headerless([{"i": "a", "x": "", "o": "r", "r": 4}], tmp_path / "ref.csv")
    cand = csv_headerless([{"i": "b", "x": "", "o": "c", "r": 4}], tmp_path / "cand.csv")
    out = cli("winrate", "ratings", "--reference", ref, "--candidate", cand, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"win_rate": None, "ci95": None, "n": 0, "wins": 0, "ties": 0, "losses": 0}


def test_bench_speedup_is_computed_against_the_same_numbers():
    """The benchmark's loop baseline and the vectorised analyses agree on a small synthetic set."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    try:
        from bench_analysis import loop_analyses, synthetic
    finally:
        sys.path.pop(0)
    data = synthetic(2000, seed=3)
    got = (consistency(data[0], data[1]).consistency, win_rate_ratings(data[2], data[3]).win_rate,
           win_rate_rankings(data[1]).win_rate)
    assert np.allclose(loop_analyses(*data), got, atol=1e-3)
