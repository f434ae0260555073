"""``rerank``: every candidate scored once; the top one per instruction written in AlpacaEval format."""

import json

import numpy as np
import pandas as pd
import pytest

from sparse_feedback.formats import read_model_outputs
from sparse_feedback.rerank import default_generator, rerank, scores_path, split_scores

GENERATION = pd.DataFrame({
    "instruction": ["Name a colour.", "Add the numbers.", "Say hi."],
    "input": ["", "2, 3", ""],
    "responses": [["red", "a deep shade of blue", "green!"], ["5", "It is five."], ["hi", "hello", "hey", "yo"]],
    "generator": ["tiny-policy"] * 3,
    "dataset": ["demo", "math", None],
})


class LengthScorer:
    """Prefers longer responses; records how it was called."""

    def __init__(self):
        self.calls = []

    def score(self, instructions, inputs, responses, batch_size=16, progress=None):
        self.calls.append((list(instructions), list(inputs), list(responses), batch_size))
        return np.array([len(r) for r in responses], dtype=float)


@pytest.mark.slow
def test_every_candidate_is_scored_in_one_call_with_its_own_instruction(tmp_path):
    scorer = LengthScorer()
    rerank(GENERATION, scorer, tmp_path / "out.json", "g", batch_size=4)
    (instructions, inputs, responses, batch_size), = scorer.calls
    assert len(responses) == 9 and batch_size == 4
    assert instructions[3:5] == ["Add the numbers."] * 2 and inputs[3:5] == ["2, 3"] * 2


@pytest.mark.slow
def test_best_candidate_is_written_in_alpaca_eval_format(tmp_path):
    out = tmp_path / "out.json"
    rerank(GENERATION, LengthScorer(), out, "tiny-bo-rm")
    records = json.loads(out.read_text())
    assert [r["output"] for r in records] == ["a deep shade of blue", "It is five.", "hello"]
    assert records[0] == {"instruction": "Name a colour.", "output": "a deep shade of blue",
                          "generator": "tiny-bo-rm", "dataset": "demo"}
    assert records[1]["input"] == "2, 3" and "dataset" not in records[2]
    assert read_model_outputs(out)["output"].tolist()[1] == "It is five."


@pytest.mark.slow
def test_sidecar_holds_every_candidates_score_and_the_choice(tmp_path):
    out = tmp_path / "out.json"
    rerank(GENERATION, LengthScorer(), out, "g")
    table = json.loads(scores_path(out).read_text())
    assert scores_path(out).name == "out.scores.json"
    assert [c["score"] for c in table[2]["candidates"]] == [2.0, 5.0, 3.0, 2.0]
    assert table[2]["chosen"] == 1


@pytest.mark.slow
def test_ties_keep_the_first_candidate(tmp_path):
    class Flat:
        def score(self, instructions, inputs, responses, batch_size=16, progress=None):
            return np.zeros(len(responses))

    out = tmp_path / "out.json"
    rerank(GENERATION, Flat(), out, "g")
    assert [r["output"] for r in json.loads(out.read_text())] == ["red", "5", "hi"]


def test_score_count_must_match_the_candidates():
    with pytest.raises(ValueError, match="8 scores for 9 candidates"):
        split_scores(GENERATION, np.zeros(8))


def test_default_generator_names_policy_n_and_reward_model():
    assert default_generator(GENERATION, "ratings_rm") == "tiny-policy-best-of-4-ratings_rm"


@pytest.mark.slow
def test_alpaca_eval_compatible_outputs_fold_the_input_into_the_instruction(tmp_path):
    two_inputs = pd.concat([GENERATION, GENERATION.iloc[[1]].assign(input="4, 5")], ignore_index=True)
    # AlpacaEval's judge templates fill {instruction}, {output_1}, {output_2} only (alpaca_eval_gpt4, v0.6.6) and
    # match a model's outputs to the reference on "instruction" alone.
    rerank(two_inputs, LengthScorer(), tmp_path / "out.json", "g", alpaca_eval_compatible=True)
    records = json.loads((tmp_path / "out.json").read_text())
    added = [r for r in records if r.get("input")]
    assert [r["instruction"] for r in added] == ["Add the numbers.\n\n2, 3", "Add the numbers.\n\n4, 5"]
    assert [r["input"] for r in added] == ["2, 3", "4, 5"]  # the separate key is kept
    assert len({r["instruction"] for r in records}) == len(records)  # matching on instruction alone is unambiguous
    back = read_model_outputs(tmp_path / "out.json")  # `evaluate` reads either form back to instruction + input
    assert back.loc[back["input"] == "2, 3", "instruction"].tolist() == ["Add the numbers."]


@pytest.mark.slow
def test_rerank_outputs_keep_instruction_and_input_apart_by_default(tmp_path):
    rerank(GENERATION, LengthScorer(), tmp_path / "out.json", "g")
    records = json.loads((tmp_path / "out.json").read_text())
    assert records[1]["instruction"] == "Add the numbers." and records[1]["input"] == "2, 3"
