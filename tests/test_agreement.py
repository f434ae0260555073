"""Agreement statistics checked against textbook values and a direct (slow) definition."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparse_feedback.analysis.agreement import (
    agreement_summary, annotator_table, cohen_kappa, fleiss_kappa, krippendorff_alpha, label_matrix,
)
from sparse_feedback.analysis.sources import feedback_from_frames


def naive_alpha(data, level):
    """Krippendorff's α straight from its definition: disagreement over all pairable value pairs."""
    units = [[v for v in row if v == v] for row in data]
    units = [u for u in units if len(u) >= 2]
    pooled = [v for u in units for v in u]
    n = len(pooled)
    values = sorted(set(pooled))
    freq = {v: pooled.count(v) for v in values}

    def d2(c, k):
        if level == "nominal":
            return float(c != k)
        if level == "interval":
            return (c - k) ** 2
        lo, hi = min(c, k), max(c, k)
        return (sum(freq[g] for g in values if lo <= g <= hi) - (freq[c] + freq[k]) / 2) ** 2

    observed = sum(d2(u[i], u[j]) / (len(u) - 1) for u in units for i, j in itertools.permutations(range(len(u)), 2))
    expected = sum(d2(pooled[i], pooled[j]) for i, j in itertools.permutations(range(n), 2))
    return 1 - (n - 1) * observed / expected


def test_cohen_kappa_textbook_and_limits():
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa([1, 2, 3, 1], [1, 2, 3, 1]) == 1.0
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa(b, a))
    assert np.isnan(cohen_kappa([5, 5], [5, 5]))  # chance agreement is certain: κ undefined


def test_fleiss_kappa_textbook_example():
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-4)


def test_fleiss_kappa_of_two_raters_is_close_to_cohen():
    a = np.array([1, 2, 3, 1, 2, 3, 1, 1, 2, 3] * 5)
    b = np.array([1, 2, 3, 2, 2, 3, 1, 3, 2, 1] * 5)
    counts = np.zeros((len(a), 3))
    for i, (x, y) in enumerate(zip(a, b)):
        counts[i, x - 1] += 1
        counts[i, y - 1] += 1
    assert fleiss_kappa(counts) == pytest.approx(cohen_kappa(a, b), abs=0.02)  # Scott's π ≈ κ here


def test_krippendorff_alpha_textbook_values():
    nan = float("nan")
    data = [[1, 1, nan, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
            [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [nan, 5, 5, 5], [nan, nan, 1, 1], [nan, 3, nan, nan]]
    assert krippendorff_alpha(data, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(data, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(data, "interval") == pytest.approx(0.849, abs=5e-4)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(1, 7)), min_size=3, max_size=3), min_size=2, max_size=12),
       st.sampled_from(["nominal", "ordinal", "interval"]))
def test_krippendorff_alpha_matches_its_definition_with_ties_and_gaps(rows, level):
    data = [[np.nan if v is None else v for v in row] for row in rows]
    fast = krippendorff_alpha(data, level)
    pooled = [v for row in data if sum(x == x for x in row) >= 2 for v in row if v == v]
    if len(set(pooled)) < 2:
        assert np.isnan(fast)
    else:
        assert fast == pytest.approx(naive_alpha(data, level), abs=1e-9)


def _human(rows, protocol):
    if protocol == "ratings":
        frame = pd.DataFrame(rows, columns=["annotator", "output", "rating"])
        return frame.assign(instruction="i", input="", seconds=10.0)
    return pd.DataFrame(rows, columns=["annotator", "output1", "output2", "feedback"]).assign(
        instruction="i", input="", seconds=20.0)


def test_annotator_table_counts_items_and_agreement_with_others_and_llm():
    ratings = _human([("ann", "x", 5), ("ann", "y", 3), ("bob", "x", 5), ("bob", "y", 4)], "ratings")
    rankings = _human([("ann", "x", "y", "(a)"), ("bob", "y", "x", "(b)")], "rankings")  # same preference, flipped
    llm_r = pd.DataFrame({"instruction": "i", "input": "", "output": ["x", "y"], "rating": [5, 4]})
    llm_k = pd.DataFrame({"instruction": ["i"], "input": [""], "output1": ["x"], "output2": ["y"],
                          "feedback": ["equal"]})
    fb = feedback_from_frames([(llm_r, llm_k), (ratings, rankings)])
    table = annotator_table(fb).set_index("annotator")
    assert table.loc["ann", "ratings_items"] == 2 and table.loc["ann", "rankings_items"] == 1
    assert table.loc["ann", "ratings_agreement_others"] == 50.0  # x agrees, y does not
    assert table.loc["ann", "rankings_agreement_others"] == 100.0  # the flipped pair is the same preference
    assert table.loc["ann", "ratings_agreement_llm"] == 50.0 and table.loc["bob", "ratings_agreement_llm"] == 100.0
    assert table.loc["ann", "rankings_agreement_llm"] == 0.0
    assert table.loc["ann", "median_seconds"] == 10.0  # ratings 10, 10; rankings 20 -> median 10
    summary = agreement_summary(fb).set_index("protocol")
    assert summary.loc["rankings", "human_llm_n"] == 2 and summary.loc["rankings", "human_llm_agreement"] == 0.0
    assert label_matrix(fb, "rankings").shape == (1, 2)


def test_source_agreement_compares_every_pair_of_sources_on_shared_items():
    """The Agreement heatmap's data: κ and α per pair of sources (LLM, majority, each annotator), symmetric, 1 on
    the diagonal, and κ the plain Cohen's κ of the two sources' labels on the items both gave."""
    from sparse_feedback.analysis.agreement import agreement_sources, source_agreement

    ratings = _human([("ann", "x", 5), ("ann", "y", 3), ("ann", "z", 2), ("bob", "x", 5), ("bob", "y", 4),
                      ("bob", "z", 2)], "ratings")
    llm_r = pd.DataFrame({"instruction": "i", "input": "", "output": ["x", "y", "z"], "rating": [5, 3, 1]})
    fb = feedback_from_frames([(llm_r, None), (ratings, None)])
    assert agreement_sources(fb) == ["LLM", "majority of humans", "annotator: ann", "annotator: bob"]
    pairs = source_agreement(fb, "ratings").set_index(["source_a", "source_b"])
    assert len(pairs) == 16 and (pairs["n"] == 3).all()
    for s in agreement_sources(fb):
        assert pairs.loc[(s, s), "kappa"] == pytest.approx(1.0) and pairs.loc[(s, s), "alpha"] == pytest.approx(1.0)
    assert pairs.loc[("LLM", "annotator: ann"), "kappa"] == pytest.approx(cohen_kappa([5, 3, 1], [5, 3, 2]))
    assert pairs.loc[("LLM", "annotator: bob"), "kappa"] == pairs.loc[("annotator: bob", "LLM"), "kappa"]
    assert pairs.loc[("LLM", "annotator: bob"), "alpha"] == pytest.approx(
        krippendorff_alpha([[5, 5], [3, 4], [1, 2]], "ordinal"))
    assert source_agreement(feedback_from_frames([(llm_r, None)]), "rankings")["n"].tolist() == [0]


def test_agreement_heatmap_has_one_panel_per_protocol_coloured_by_kappa():
    from sparse_feedback.report.figures import agreement_heatmap

    pairs = pd.DataFrame({"protocol": ["ratings"] * 4 + ["rankings"] * 4, "source_a": ["A", "A", "B", "B"] * 2,
                          "source_b": ["A", "B", "A", "B"] * 2, "n": [3] * 8,
                          "kappa": [1, 0.25, 0.25, 1, 1, -0.5, -0.5, 1], "alpha": [1, 0.3, 0.3, 1, 1, -0.4, -0.4, 1]})
    fig = agreement_heatmap(pairs)
    assert [t.z.tolist() for t in fig.data] == [[[1, 0.25], [0.25, 1]], [[1, -0.5], [-0.5, 1]]]
    assert fig.data[0].text[0][1] == "κ 0.25<br>α 0.30" and (fig.data[0].zmin, fig.data[0].zmax) == (-1, 1)
