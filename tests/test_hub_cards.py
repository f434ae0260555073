"""Issue 22 without a server: the paper's feedback layout maps onto the project's kinds, Hub addresses parse, and
the cards' YAML states what a reader checks."""

from __future__ import annotations

import pytest

from sparse_feedback import formats
from sparse_feedback.errors import InputError
from sparse_feedback.formats.cards import DatasetFacts, ModelFacts, dataset_card, front_matter, model_card
from sparse_feedback.formats.hub import HubTable
from sparse_feedback.report.cards import consistency_figure, dataset_facts
from tests.hub_fixtures import RANKINGS, RATINGS, paper_layout


def test_the_papers_feedback_layout_reads_as_rating_and_ranking_feedback_from_a_local_dataset(tmp_path):
    """The layout documented in README "Hugging Face Hub" (response/response1/response2 headers, labels
    (a)/(b)/equal), built locally with ``datasets`` as the Hub would serve it."""
    import datasets

    rankings, ratings = paper_layout()
    datasets.Dataset.from_pandas(rankings).save_to_disk(str(tmp_path / "rankings"))
    datasets.Dataset.from_pandas(ratings).save_to_disk(str(tmp_path / "ratings"))
    got = formats.read_ranking_feedback(tmp_path / "rankings")
    assert list(got.columns[:5]) == ["instruction", "input", "output1", "output2", "feedback"]
    assert got[["output1", "output2", "feedback"]].values.tolist() == RANKINGS[["output1", "output2",
                                                                               "feedback"]].values.tolist()
    got = formats.read_rating_feedback(tmp_path / "ratings")
    assert got["output"].tolist() == RATINGS["output"].tolist() and got["rating"].tolist() == [7, 2, 6, 5, 5, 3]


def test_a_hub_address_names_repo_config_revision_and_split_and_a_bad_one_is_refused():
    table = HubTable.parse(" hf://datasets/hbXNov/sparse_feedback/rankings@v1:test ")
    assert (table.repo_id, table.config, table.revision, table.split) == ("hbXNov/sparse_feedback", "rankings",
                                                                          "v1", "test")
    assert str(table) == "hf://datasets/hbXNov/sparse_feedback/rankings@v1:test"
    with pytest.raises(InputError, match="not a Hub dataset address"):
        HubTable.parse("hf://models/someone/model")
    with pytest.raises(InputError, match="not a Hub dataset address"):
        formats.read_ranking_feedback("hf://datasets/only-an-owner")


def test_a_dataset_card_states_protocol_source_aggregation_counts_and_consistency_with_its_interval():
    figure = consistency_figure(RATINGS, RANKINGS, against="ratings.csv")
    facts = dataset_facts("me/fb", RANKINGS.assign(model="gpt-x"), what="ranking feedback", protocol="rankings",
                          aggregation="one row per pair by the both-orders rule", consistency_with=figure)
    card = dataset_card(facts)
    meta = front_matter(card)
    assert meta["license"] == "other" and meta["size_categories"] == ["n<1K"] and meta["task_categories"]
    stated = meta["sparse_feedback"]
    assert stated["protocol"] == "rankings" and stated["source"] == "llm" and stated["judges"] == ["gpt-x"]
    assert stated["counts"] == {"(a)": 2, "(b)": 1, "equal": 1} and stated["rows"] == 4
    assert stated["consistency"]["n_pairs"] == 4 and stated["consistency"]["percent"] == 100.0
    assert "both-orders rule" in card and "95 % Wilson interval 51.0-100.0 %" in card
    assert "## Judge prompt" in card  # an LLM source names the prompt it was judged with
    assert dataset_card(facts) == card  # no timestamp: the same export makes the same card


def test_a_model_card_states_base_protocol_lora_accuracy_interval_and_command():
    facts = ModelFacts(name="me/rm", base="smollm2-135m", protocol="ratings", train_rows=82,
                       aggregation="82 responses, one label each by majority", lora={"r": 8, "alpha": 16,
                                                                                       "dropout": 0.05,
                                                                                       "targets": "q_proj"},
                       accuracy=0.529412, held_out=17, interval=(0.31, 0.74),
                       command="python -m sparse_feedback train ratings --train t.csv")
    card = model_card(facts)
    meta = front_matter(card)
    assert meta["base_model"] == "smollm2-135m" and meta["library_name"] == "peft"
    assert meta["sparse_feedback"]["interval"] == [0.31, 0.74]
    assert "LoRA r=8, alpha=16" in card and "0.529 on 17 held-out pairs (95 % Wilson interval 0.310-0.740)" in card
    assert "train ratings --train t.csv" in card


def test_the_card_of_an_export_without_the_other_protocol_says_consistency_was_not_measured():
    facts = DatasetFacts(name="me/x", what="rated responses", protocol="ratings", source="human",
                         aggregation="as given", rows=3)
    assert "not measured for this export" in dataset_card(facts)
    empty = consistency_figure(RATINGS.iloc[:0], RANKINGS, against="nothing")
    assert empty["n_pairs"] == 0 and empty["percent"] is None
