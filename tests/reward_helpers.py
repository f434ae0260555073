"""A tiny random Llama and a tokenizer built locally (no downloads), and toy feedback for reward tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

WORDS = ("good great fine nice clear bad awful poor wrong vague the a answer is this text reply to question "
         "write say add list name explain why how what numbers story short").split()


def tiny_model(path: Path, hidden: int = 32, layers: int = 2, seed: int = 0) -> Path:
    """Save a random-init LlamaForCausalLM (hidden 32, 2 layers) and a word-level tokenizer to ``path``."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "</s>": 1, "<s>": 2}
    for token in WORDS + [str(i) for i in range(10)] + list("#:.,!?()"):
        vocab.setdefault(token, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", eos_token="</s>", bos_token="<s>",
                                        pad_token="</s>")
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, eos_token_id=1, bos_token_id=2, pad_token_id=1)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def toy_rankings(n: int = 24) -> pd.DataFrame:
    """Ranking feedback where the preferred response always ends in a 'good' word: separable."""
    good, bad = ["good", "great", "fine", "nice"], ["bad", "awful", "poor", "wrong"]
    rows = []
    for i in range(n):
        a = f"this answer is {good[i % 4]}"
        b = f"this answer is {bad[(i + 1) % 4]}"
        first = i % 2 == 0
        rows.append({"instruction": f"write {WORDS[10 + i % 12]} {i}", "input": "",
                     "output1": a if first else b, "output2": b if first else a,
                     "feedback": "(a)" if first else "(b)"})
    return pd.DataFrame(rows)


def toy_ratings(n_prompts: int = 8) -> pd.DataFrame:
    """Rating feedback where 'good' responses get 6-7 and 'bad' ones 1-2."""
    rows = []
    for i in range(n_prompts):
        for j, (word, rating) in enumerate([("good", 7), ("bad", 1), ("great", 6), ("poor", 2)]):
            rows.append({"instruction": f"explain {WORDS[10 + i % 12]} {i}", "input": "",
                         "output": f"the reply is {word} {'short' if j % 2 else 'the story'}", "rating": rating})
    return pd.DataFrame(rows)


def tiny_model_fixture(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def log_losses(output_dir) -> dict[int, float]:
    from sparse_feedback.reward.runs import read_log

    return {r["step"]: r["loss"] for r in read_log(output_dir) if "loss" in r}
