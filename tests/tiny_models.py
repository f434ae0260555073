"""Tiny random-init models and a locally trained tokenizer, built in a second without downloads."""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.",
    "### Instruction: ### Input: ### Response:",
    "Name three colours. Red, green and blue. Add the numbers 2 and 3. The answer is 5.",
    "Write a haiku about the sea. Waves fold into foam; the tide keeps its slow promise.",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?'\"()-",
]
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def tiny_tokenizer(chat: bool = False):
    """A byte-level BPE tokenizer trained on a few sentences; eos ``</s>`` doubles as pad."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>", "<|user|>", "<|assistant|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="</s>")
    if chat:
        fast.chat_template = CHAT_TEMPLATE
    return fast


def tiny_causal_lm(path, chat: bool = False, seed: int = 0) -> Path:
    """Save a 2-layer random Llama and its tokenizer to ``path``; loadable by name like any checkpoint."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tiny_tokenizer(chat)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    model = LlamaForCausalLM(config)
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def tiny_reward_model(path, base) -> Path:
    """A reward-model directory (full classifier over ``base``, fresh score head) that ``load_reward_model`` reads."""
    from sparse_feedback.hub import load_sequence_classifier
    from sparse_feedback.reward.config import RewardConfig

    path = Path(path)
    model, tokenizer = load_sequence_classifier(str(base))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    RewardConfig(protocol="rankings", model=str(base), train="-", output_dir=str(path)).save(path)
    return path
