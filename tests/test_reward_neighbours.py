"""A response's reward does not depend on its neighbours: packed, batched or alone, the same score."""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reward_helpers import tiny_model

from sparse_feedback.reward.collate import Group, PackedCollator
from sparse_feedback.reward.model import PackedRewardModel

MAX_LENGTH = 24


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("tiny") / "m")


def classifier(tiny_dir, attention="sdpa"):
    from sparse_feedback.hub import load_sequence_classifier

    model, _ = load_sequence_classifier(str(tiny_dir), attn_implementation=attention)
    return model.eval()


@pytest.fixture(scope="module")
def sdpa(tiny_dir):
    return classifier(tiny_dir)


def alone(model, prompt, response, max_length=MAX_LENGTH) -> float:
    """The plain classifier on prompt + response cut from the left: no packing code involved."""
    with torch.no_grad():
        return model(input_ids=torch.tensor([(prompt + response)[-max_length:]])).logits.item()


def packed(model, groups, max_length=MAX_LENGTH) -> list[float]:
    with torch.no_grad():
        return PackedRewardModel(model)(**PackedCollator(1, max_length)(groups)).tolist()


tokens = st.lists(st.integers(3, 40), min_size=1, max_size=MAX_LENGTH + 6)  # around max_length, pad id 1 never drawn


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prompts=st.lists(tokens, min_size=1, max_size=3),
       responses=st.lists(st.lists(tokens, min_size=1, max_size=5), min_size=1, max_size=3))
@pytest.mark.slow
def test_every_response_scores_as_alone_whatever_its_group_and_batch(sdpa, prompts, responses):
    groups = [Group(p, rs) for p, rs in zip(prompts, responses)]
    expected = [alone(sdpa, g.prompt, r) for g in groups for r in g.responses]
    assert packed(sdpa, groups) == pytest.approx(expected, abs=1e-4)
    first = packed(sdpa, groups[:1])  # the first group without the rest of the batch
    assert first == pytest.approx(expected[:len(first)], abs=1e-4)


def test_a_long_neighbour_no_longer_cuts_the_prompt_of_a_short_response(sdpa):
    prompt, short, long = list(range(3, 23)), [30, 31], list(range(5, 25))
    together = packed(sdpa, [Group(prompt, [short, long])])
    assert together[0] == pytest.approx(packed(sdpa, [Group(prompt, [short])])[0], abs=1e-4)
    assert together == pytest.approx([alone(sdpa, prompt, short), alone(sdpa, prompt, long)], abs=1e-4)


@pytest.mark.slow
def test_training_batches_score_each_pair_as_alone(sdpa, tiny_dir):
    """The trainer's groups (pairs of one prompt sharing responses of mixed lengths) and its collator."""
    from sparse_feedback.hub import load_tokenizer
    from sparse_feedback.reward.data import rankings_groups

    tokenizer = load_tokenizer(str(tiny_dir))
    long = " ".join("good bad the answer is this text reply to question write say".split() * 2)
    pairs = pd.DataFrame({"prompt": ["write a story about numbers : 1 2 3 4 5 6 7 8 9"] * 3,
                          "chosen": ["good", long, "fine answer"], "rejected": ["bad", "bad", long + " why"]})
    groups = rankings_groups(pairs, tokenizer, per_prompt=4)
    assert max(len(g.responses) for g in groups) == 3  # short and long responses share a group
    expected = [alone(sdpa, g.prompt, r) for g in groups for r in g.responses]
    assert packed(sdpa, groups) == pytest.approx(expected, abs=1e-4)


@pytest.fixture(scope="module")
def short_rm(tmp_path_factory, tiny_dir):
    """A reward-model directory whose max_length (20) makes the prompt cut matter."""
    from tiny_models import tiny_reward_model

    from sparse_feedback.reward.config import RewardConfig

    path = tiny_reward_model(tmp_path_factory.mktemp("rm") / "rm", tiny_dir)
    RewardConfig(protocol="rankings", model=str(tiny_dir), train="-", output_dir=str(path), max_length=20).save(path)
    return path


RESPONSES = ["good", "the answer is this text : write say add list name explain why how what numbers story",
             "bad reply", "the reply is fine", "this text is a clear answer to the question , good"]


@pytest.mark.slow
def test_score_of_a_response_is_the_same_alone_and_among_others(short_rm):
    from sparse_feedback.reward import load_reward_model

    rm = load_reward_model(short_rm, device="cpu")
    instruction = "write a short story about numbers 1 2 3 4 5 6 7 8 9 and explain why"
    together = rm.score(5 * [instruction], 5 * [""], RESPONSES)
    each = [rm.score([instruction], [""], [r])[0] for r in RESPONSES]
    assert together == pytest.approx(each, abs=1e-4)
    shuffled = rm.score(5 * [instruction], 5 * [""], RESPONSES[::-1], batch_size=2)
    assert shuffled[::-1] == pytest.approx(together, abs=1e-4)


@pytest.mark.slow
def test_score_on_a_ranking_file_scores_each_distinct_response_once(short_rm, tmp_path, monkeypatch):
    from sparse_feedback import cli
    from sparse_feedback.reward import model as reward_model

    rows = [{"instruction": "write a story", "input": "", "output1": RESPONSES[i % 3], "output2": RESPONSES[1 + i % 4],
             "feedback": "(a)"} for i in range(8)]
    pd.DataFrame(rows).to_csv(tmp_path / "rankings.csv", index=False)
    scored = []
    forward = reward_model.PackedRewardModel.forward
    monkeypatch.setattr(reward_model.PackedRewardModel, "forward",
                        lambda self, **b: scored.append(len(b["score_rows"])) or forward(self, **b))
    assert cli.main(["score", "--model-dir", str(short_rm), "--input", str(tmp_path / "rankings.csv"),
                     "--output", str(tmp_path / "scored.csv"), "--device", "cpu"]) == 0
    out = pd.read_csv(tmp_path / "scored.csv")
    distinct = set(out["output1"]) | set(out["output2"])
    assert sum(scored) == len(distinct)  # one pass, every distinct response once
    reward = {}
    for text, value in list(zip(out["output1"], out["reward1"])) + list(zip(out["output2"], out["reward2"])):
        reward.setdefault(text, set()).add(round(float(value), 6))
    assert all(len(values) == 1 for values in reward.values())  # a repeated response, one reward
    assert np.isfinite(out[["reward1", "reward2"]].to_numpy()).all()
