"""Sources, bias, disagreements and candidate win-rates: one test per promised behaviour."""

import numpy as np
import pandas as pd
import pytest

from sparse_feedback.analysis import consistency
from sparse_feedback.analysis.bias import length_bias, position_bias, rating_pairs
from sparse_feedback.analysis.candidates import (
    length_controlled, per_instruction, protocol_rank_flips, win_rate_table,
)
from sparse_feedback.analysis.disagreement import disagreements, pair_details
from sparse_feedback.analysis.sources import (
    ALL_HUMANS, MAJORITY, consistency_between, feedback_from_frames, source_rankings, source_ratings,
)
from sparse_feedback.analysis.synthetic import synthetic_feedback
from sparse_feedback.formats import read_ranking_feedback, read_rating_feedback
from sparse_feedback.protocols import pairs_from_orders


def ratings(rows, annotated=True):
    cols = ["annotator", "output", "rating"] if annotated else ["output", "rating"]
    return pd.DataFrame(rows, columns=cols).assign(instruction="i", input="")


def rankings(rows, annotated=True):
    cols = ["annotator", "output1", "output2", "feedback"] if annotated else ["output1", "output2", "feedback"]
    return pd.DataFrame(rows, columns=cols).assign(instruction="i", input="")


def test_majority_of_humans_is_median_rounded_half_up_and_vote_with_ties_equal():
    human_r = ratings([("a", "x", 4), ("b", "x", 5), ("a", "y", 2), ("b", "y", 2), ("c", "y", 7)])
    human_k = rankings([("a", "x", "y", "(a)"), ("b", "y", "x", "(b)"), ("c", "x", "y", "equal"),  # 2 vs 1 for x
                        ("a", "x", "z", "(a)"), ("b", "x", "z", "(b)")])  # 1 vs 1: tie -> equal
    fb = feedback_from_frames([(human_r, human_k)])
    maj = source_ratings(fb, MAJORITY).set_index("output")["rating"]
    assert maj["x"] == 5 and maj["y"] == 2
    votes = source_rankings(fb, MAJORITY).set_index("output2")["feedback"]
    assert votes["y"] == "(a)" and votes["z"] == "equal"
    assert len(source_rankings(fb, ALL_HUMANS)) == 5  # pooled: every annotation
    assert fb.source_names() == ["all humans", "majority of humans", "annotator: a", "annotator: b", "annotator: c"]


def test_source_consistency_equals_the_foundation_on_plain_files(seed):
    d = seed / "alpaca_generation"
    r = read_rating_feedback(d / "feedback_ratings_sample_generation.csv", warn=lambda m: None)
    k = read_ranking_feedback(d / "feedback_rankings_sample_generation.csv", warn=lambda m: None)
    fb = feedback_from_frames([(r, k)])
    ours, _ = consistency_between(fb, "LLM", "LLM")
    assert ours == consistency(r, k)
    assert (ours.consistency, ours.n_pairs) == (56.4103, 117)


def test_both_orders_combine_into_one_ranking_with_both_raw_answers():
    rows = rankings([("x", "y", "(a)"), ("y", "x", "(b)"), ("x", "z", "(a)"), ("z", "x", "(a)")], annotated=False)
    rows["reversed"] = [False, True, False, True]
    rows["raw_answers"] = [["Output (a)"], ["Output (b)"], ["(a)"], ["retry", "Output (a)"]]
    out = pairs_from_orders(rows).set_index("output2")
    assert out.loc["y", "feedback"] == "(a)"  # x chosen in both orders
    assert out.loc["z", "feedback"] == "equal"  # the first position chosen both times
    assert out.loc["z", "raw_answer_ba"] == "Output (a)"  # the last answer of a retried order


def test_position_bias_counts_order_dependent_answers_and_the_winning_side():
    k = rankings([("x", "y", "(a)"), ("x", "z", "equal"), ("y", "z", "equal"), ("w", "z", "equal")], annotated=False)
    k["raw_answer_ab"] = ["Output (a)", "Output (a)", "Output (b)", "nonsense"]
    k["raw_answer_ba"] = ["Output (b)", "Output (a)", "Output (b)", "Output (a)"]
    result = position_bias(k)
    assert result.pairs == 3 and result.counts["unparsed"] == 1
    assert result.order_dependent == pytest.approx(200 / 3)
    assert result.first_shown_won == 50.0
    assert result.first_choice == 50.0  # a, b | a, a | b, b


def test_length_bias_sees_a_judge_that_always_prefers_the_longer_response():
    short, long = "brief", "a much longer answer with many more words in it"
    pairs = pd.DataFrame({"output1": [short, long, short], "output2": [long, short, "tiny"],
                          "preference": ["(b)", "(a)", "equal"]})
    summary, bins = length_bias(pairs)
    assert summary == {"pairs": 3, "longer_preferred": 100.0, "equal": pytest.approx(100 / 3)}
    assert bins.set_index("gap_words").loc["6-20", "pairs"] == 2


def test_rating_pairs_are_every_pair_within_an_instruction():
    r = ratings([("a", 3), ("b", 5), ("c", 5)], annotated=False)
    pairs = rating_pairs(r)
    assert len(pairs) == 3 and sorted(pairs["preference"]) == ["(b)", "(b)", "equal"]


def test_disagreements_sort_by_size_and_the_detail_carries_every_judgement():
    llm_r = ratings([("x", 7), ("y", 1), ("z", 4), ("w", 4)], annotated=False)
    llm_k = rankings([("x", "y", "(b)"), ("z", "w", "(a)"), ("x", "z", "(a)")], annotated=False)
    llm_k["raw_answer_ab"], llm_k["raw_answer_ba"] = "Output (b)", "Output (a)"
    human_r = ratings([("ann", "x", 6), ("bob", "x", 2)])
    fb = feedback_from_frames([(llm_r, llm_k), (human_r, None)])
    found = disagreements(fb, ("ratings", "LLM"), ("rankings", "LLM"))
    assert found["output2"].tolist() == ["y", "w"]  # 7-vs-1 against (b) first, then 4-vs-4 against (a)
    assert found["score"].tolist() == [2.0, 1.0]
    detail = pair_details(fb, "i", "", "x", "y")
    assert set(detail["ratings"]["annotator"]) == {"", "ann", "bob"}
    assert detail["rankings"].loc[0, "raw_answer_ba"] == "Output (a)"


def test_seed_win_rates_and_the_protocols_ranking_the_candidate_differently(seed):
    d = seed / "inference_model_outputs"
    quiet = {"warn": lambda m: None}
    table = per_instruction(read_rating_feedback(d / "feedback_ratings_davinci_for_llm_eval.csv", **quiet),
                            read_rating_feedback(d / "feedback_ratings_ratings_for_llm_eval.csv", **quiet),
                            read_ranking_feedback(d / "feedback_rankings_davincivsratings_for_llm_eval.csv", **quiet))
    rates = win_rate_table({"bo64": table}).set_index("protocol")
    assert (rates.loc["ratings", "win_rate"], rates.loc["ratings", "n"]) == (52.9412, 51)
    assert (rates.loc["rankings", "win_rate"], rates.loc["rankings", "n"]) == (32.6087, 46)
    assert protocol_rank_flips(rates.reset_index()) == [("bo64", "reference")]


def test_length_controlled_win_rate_removes_a_pure_length_effect():
    rng = np.random.default_rng(1)
    gap = rng.normal(40, 30, 3000)  # candidates are longer, and length alone wins
    wins = (rng.random(3000) < 1 / (1 + np.exp(-gap / 20))).astype(float)
    raw = 100 * wins.mean()
    lc, ci = length_controlled(wins, gap)
    assert raw > 80 and abs(lc - 50) < 8 and 0 < ci < 10


def test_candidate_ranks_agree_when_the_protocols_agree():
    t = pd.DataFrame({"candidate": ["a", "a", "b", "b"], "protocol": ["ratings", "rankings"] * 2,
                      "win_rate": [60, 55, 40, 45]})
    assert protocol_rank_flips(t) == []


def test_synthetic_bundle_has_every_source():
    d = synthetic_feedback(n_instructions=4, annotators=("p", "q"))
    fb = feedback_from_frames([(d["llm_ratings"], d["llm_rankings"]), (d["human_ratings"], d["human_rankings"])])
    assert fb.source_names()[:3] == ["LLM", "all humans", "majority of humans"]
    assert len(source_rankings(fb, "LLM")) == 40
