"""The local judge: a causal LM picks answers by token probability (tiny random model, built offline)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from sparse_feedback.judge import AnswerCache, judge_rankings, judge_ratings, protocol
from sparse_feedback.backends.transformers import TransformersBackend

WORDS = ["Output", "(", ")", "a", "b", *map(str, range(10)), "Score", ":", "Rate", "the", "answer", "Input",
         "Instruction", "Response", "none", "Add", "two", "and", "is", "better", "?", "."]


@pytest.fixture(scope="module")
def tiny():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["[UNK]", "[PAD]", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(True)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512)
    return LlamaForCausalLM(config).eval(), tokenizer


@pytest.mark.slow
def test_rating_is_the_most_probable_of_the_tokens_1_to_7(tiny):
    lm, tokenizer = tiny
    backend = TransformersBackend("tiny", lm=lm, tokenizer=tokenizer)
    messages = protocol("ratings").messages(instruction="Add two and two.", input="", response="4")
    answer = backend.score(messages, protocol("ratings").choices)
    ids = tokenizer("\n\n".join(m["content"] for m in messages) + "\n")["input_ids"]
    with torch.no_grad():
        logits = lm(input_ids=torch.tensor([ids])).logits[0, -1]
    digits = [tokenizer.convert_tokens_to_ids(str(n)) for n in range(1, 8)]
    expected = torch.softmax(logits[digits], 0)
    assert answer.probs == pytest.approx({str(n): p for n, p in zip(range(1, 8), expected.tolist())}, abs=1e-5)
    assert answer.text == str(1 + int(expected.argmax()))


@pytest.mark.slow
def test_rankings_compare_a_and_b_after_the_shared_prefix(tiny):
    lm, tokenizer = tiny
    backend = TransformersBackend("tiny", lm=lm, tokenizer=tokenizer)
    messages = protocol("rankings").messages(instruction="Add.", input="", output_a="4", output_b="5")
    answer = backend.score(messages, protocol("rankings").choices)
    prefix = tokenizer("Output (", add_special_tokens=False)["input_ids"]
    ids = tokenizer("\n\n".join(m["content"] for m in messages) + "\n")["input_ids"] + prefix
    with torch.no_grad():
        logits = lm(input_ids=torch.tensor([ids])).logits[0, -1]
    p = torch.softmax(logits[[tokenizer.convert_tokens_to_ids("a"), tokenizer.convert_tokens_to_ids("b")]], 0)
    assert answer.probs["Output (a)"] == pytest.approx(float(p[0]), abs=1e-5)
    assert answer.text == ("Output (a)" if p[0] > p[1] else "Output (b)")


@pytest.mark.slow
def test_local_judge_runs_through_the_engine_and_its_cache(tiny, tmp_path):
    lm, tokenizer = tiny
    backend = TransformersBackend("tiny", lm=lm, tokenizer=tokenizer)
    ratings = pd.DataFrame({"instruction": ["Add two and two.", "Add."], "input": ["", "2"], "response": ["4", "5"]})
    pairs = pd.DataFrame({"instruction": ["Add."], "input": [""], "response1": ["4"], "response2": ["5"]})
    with AnswerCache(tmp_path / "c.db") as cache:
        rated = judge_ratings(ratings, backend, cache=cache, show_progress=False)
        ranked = judge_rankings(pairs, backend, cache=cache, show_progress=False)
        again = judge_ratings(ratings, backend, cache=cache, show_progress=False)
    frame = rated.feedback()
    assert frame["rating"].between(1, 7).all() and frame["expected_rating"].between(1, 7).all()
    assert ranked.judgements[0].feedback in {"(a)", "(b)", "equal"} and ranked.position_bias.pairs == 1
    assert again.stats.cached == 2 and again.stats.requests == 0
    assert again.feedback()["expected_rating"].tolist() == pytest.approx(frame["expected_rating"].tolist())


@pytest.mark.slow
def test_cli_local_backend_with_smollm2(cli, tmp_path):
    pytest.importorskip("sparse_feedback.hub")
    tasks = tmp_path / "tasks.csv"
    pd.DataFrame({"instruction": ["Name a primary colour."], "input": [""], "response": ["Blue."]}).to_csv(
        tasks, index=False)
    run = cli("judge", "ratings", "--input", tasks, "--output", tmp_path / "o.csv", "--backend", "transformers",
              "--model", "smollm2-135m", "--cache", tmp_path / "c.db", "--no-progress")
    assert run.returncode == 0, run.stderr
    frame = pd.read_csv(tmp_path / "o.csv")
    assert frame["rating"].between(1, 7).all() and "expected_rating" in frame
