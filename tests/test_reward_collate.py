"""Packing: truncation keeps the response end; a packed pair scores exactly like two separate sequences."""

import pytest
import torch
from reward_helpers import tiny_model

from sparse_feedback.reward.collate import Group, PackedCollator, cut, length_grouped_batches


def test_truncation_cuts_the_prompt_from_the_left_and_keeps_the_response_end():
    prompt, response = list(range(100, 140)), list(range(1, 11))
    batch = PackedCollator(pad_token_id=0, max_length=16)([Group(prompt, [response, response[:3]])])
    ids = batch["input_ids"][0].tolist()
    assert ids[:6] == prompt[-6:]  # 16 - 10 prompt tokens kept, from the end
    chosen_end = batch["score_cols"][0].item()
    assert ids[chosen_end - 9:chosen_end + 1] == response  # the whole response, its last token scored
    short_row = batch["input_ids"][batch["score_rows"][1]].tolist()  # the short one keeps more prompt
    assert short_row[:16] == prompt[-13:] + response[:3]


def test_a_response_longer_than_max_length_keeps_its_last_tokens():
    batch = PackedCollator(pad_token_id=0, max_length=5)([Group([1, 2, 3], [list(range(10, 30))])])
    assert cut(3, 20, max_length=5) == (0, 5) and batch["input_ids"].tolist() == [[25, 26, 27, 28, 29]]


def test_length_grouped_batches_cover_every_example_once_and_group_similar_lengths():
    lengths = [3, 300, 4, 310, 5, 290, 6, 305]
    batches = length_grouped_batches(lengths, batch_size=2, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(8))
    assert all(len({lengths[i] > 100 for i in b}) == 1 for b in batches)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("tiny") / "m")


@pytest.fixture(scope="module")
def classifier(tiny_dir):
    from sparse_feedback.hub import load_sequence_classifier

    model, tokenizer = load_sequence_classifier(str(tiny_dir))
    return model.eval(), tokenizer


@pytest.mark.slow
@pytest.mark.parametrize("attention", ["sdpa", "eager"])  # boolean mask / additive mask
def test_packed_scores_equal_scores_of_separate_sequences(tiny_dir, attention):
    from sparse_feedback.hub import load_sequence_classifier
    from sparse_feedback.reward.model import PackedRewardModel

    model, tokenizer = load_sequence_classifier(str(tiny_dir), attn_implementation=attention)
    model.eval()
    ids = lambda text, special=False: tokenizer(text, add_special_tokens=special)["input_ids"]  # noqa: E731
    prompt = ids("write a short story about numbers :", special=True)
    responses = [ids(" this answer is good"), ids(" bad"), ids(" the reply is poor and wrong !")]
    groups = [Group(prompt, responses[:2]), Group(prompt[2:], responses[1:])]
    batch = PackedCollator(tokenizer.pad_token_id, max_length=64)(groups)
    with torch.no_grad():
        packed = PackedRewardModel(model)(**batch)
        alone = [model(input_ids=torch.tensor([p + r])).logits.item()
                 for p, r in [(prompt, responses[0]), (prompt, responses[1]), (prompt[2:], responses[1]),
                              (prompt[2:], responses[2])]]
    assert packed.tolist() == pytest.approx(alone, abs=1e-5)


def test_pairs_of_one_prompt_share_the_prompt_and_score_each_response_once(classifier):
    import pandas as pd

    from sparse_feedback.reward.data import rankings_groups

    _, tokenizer = classifier
    pairs = pd.DataFrame({"prompt": ["p :"] * 3 + ["q :"], "chosen": ["good", "good", "fine", "nice"],
                          "rejected": ["bad", "poor", "bad", "wrong"]})
    groups = rankings_groups(pairs, tokenizer, per_prompt=4)
    assert [len(g.responses) for g in groups] == [4, 2]  # good, bad, poor, fine behind one "p :"
    assert groups[0].pairs == [(0, 1), (0, 2), (3, 1)] and groups[0].index == [0, 1, 2]
    assert [len(g.responses) for g in rankings_groups(pairs, tokenizer, per_prompt=2)] == [2, 2, 2, 2]
