"""A local causal LM (on ``--device``): it samples n responses per instruction, or judges with no server.

Sampling: prompts sorted by length and batched with left padding (little padding), each batch's prompts
prefilled once and their KV cache shared by the n samples (``num_return_sequences`` would prefill n copies).
Judging: it picks among the protocol's answers by their probability. Ratings: the probabilities of the tokens ``1``..``7`` as the next token after the prompt; the rating is
the most probable one (argmax; the expected value is reported alongside). Rankings: after the shared
prefix ``Output (``, the probabilities of ``a`` and ``b``. One forward pass per question.
"""

from __future__ import annotations

import threading
import warnings
from typing import Sequence

from sparse_feedback.backends import Completion, LocalModel, Messages, RequestError


def distinguishing_tokens(choice_ids: list[list[int]]) -> tuple[list[int], list[int]]:
    """The token prefix all choices share, and the first token where each choice differs.

    >>> distinguishing_tokens([[5, 9, 1], [5, 9, 2]])
    ([5, 9], [1, 2])
    >>> distinguishing_tokens([[3], [4], [7]])
    ([], [3, 4, 7])
    """
    prefix: list[int] = []
    for column in zip(*choice_ids):
        if len(set(column)) > 1:
            break
        prefix.append(column[0])
    firsts = [ids[len(prefix)] if len(ids) > len(prefix) else -1 for ids in choice_ids]
    if -1 in firsts or len(set(firsts)) != len(firsts):
        raise RequestError("the answers are not told apart by one token under this tokenizer")
    return prefix, firsts


class TransformersBackend(LocalModel):
    """``TransformersBackend("smollm2-135m")`` loads via ``sparse_feedback.hub`` on ``device`` (auto: CUDA in
    bf16 when present, else CPU fp32); or pass ``lm`` and ``tokenizer``."""

    name = "transformers"

    def __init__(self, model: str = "smollm2-135m", *, lm=None, tokenizer=None, device: str = "auto",
                 share_prompt_cache: bool = True, **_ignored):
        from sparse_feedback.device import resolve_device

        self.model, self._lm, self._tokenizer = model, lm, tokenizer
        self.model_name = model
        self.device = resolve_device(device)  # refused here, before any loading, if the machine cannot
        self.share_prompt_cache = share_prompt_cache
        # ``on_tokens(items, tokens, max_new_tokens)`` while a batch samples (a long batch shows it moving)
        self.on_tokens = None
        self._lock = threading.Lock()  # one forward pass at a time; the model is not re-entrant

    def _load(self):
        if self._lm is None:
            from sparse_feedback.hub import load_causal_lm

            self._lm, self._tokenizer = load_causal_lm(self.model, device=self.device)
        return self._lm, self._tokenizer

    def _prompt_ids(self, tokenizer, messages: Messages) -> list[int]:
        if getattr(tokenizer, "chat_template", None):
            ids = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):  # some versions return a BatchEncoding
                ids = ids["input_ids"]
            return list(ids)
        text = "\n\n".join(m["content"] for m in messages) + "\n"
        return tokenizer(text)["input_ids"]

    def score(self, messages: Messages, choices: Sequence[str]) -> Completion:
        """The most probable choice, with every choice's probability (renormalised over the choices)."""
        import torch

        if not choices:
            raise RequestError("the transformers backend needs the protocol's answer choices")
        with self._lock:
            lm, tokenizer = self._load()
            prefix, firsts = distinguishing_tokens(
                [tokenizer(c, add_special_tokens=False)["input_ids"] for c in choices])
            ids = torch.tensor([self._prompt_ids(tokenizer, messages) + prefix], device=lm.device)
            limit = getattr(lm.config, "max_position_embeddings", None)
            if limit and ids.shape[1] > limit:  # keep the end: the question and answer cue sit there
                ids = ids[:, -limit:]
            with torch.no_grad():
                logits = lm(input_ids=ids).logits[0, -1].float()
            probs = torch.softmax(logits[firsts], dim=0).tolist()
        best = max(range(len(choices)), key=probs.__getitem__)
        return Completion(choices[best], dict(zip(choices, probs)))

    # Sampling --------------------------------------------------------------------------------------------

    def prompts(self, items, config) -> list[str]:
        from sparse_feedback.templates import policy_prompt

        tokenizer = self._load()[1]
        return [policy_prompt(ins, inp, tokenizer, config.prompt_format) for _, ins, inp in items]

    def generate(self, items, config, on_result) -> None:
        """n samples per item; ``on_result(index, responses)`` after each batch."""
        import torch

        from sparse_feedback.templates import uses_chat

        lm, tokenizer = self._load()
        chat = uses_chat(tokenizer, config.prompt_format)
        # A chat template already holds the BOS token; don't add a second one.
        lengths = [len(tokenizer(p, add_special_tokens=not chat)["input_ids"]) for p in self.prompts(items, config)]
        ordered = [item for _, item in sorted(zip(lengths, items), key=lambda pair: pair[0])]
        for start in range(0, len(ordered), config.batch_size):
            batch = ordered[start:start + config.batch_size]
            enc = tokenizer(self.prompts(batch, config), return_tensors="pt", padding=True,
                            add_special_tokens=not chat).to(lm.device)
            torch.manual_seed(config.seed + min(i for i, _, _ in batch))  # reproducible, whatever was resumed
            with torch.inference_mode():
                out = self._sample(lm, tokenizer, enc, config)
            texts = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            for j, (index, _, _) in enumerate(batch):
                on_result(index, [t.strip() for t in texts[j * config.n:(j + 1) * config.n]])

    def _sample(self, lm, tokenizer, enc, config):
        """``model.generate`` for n samples per prompt; with ``share_prompt_cache`` the prompts (all but their
        last token) are prefilled once and the cache repeated n times, so the n samples share that work."""
        import torch

        sampling = {} if config.greedy else {"temperature": config.temperature, "top_p": config.top_p}
        common = dict(max_new_tokens=config.max_new_tokens, do_sample=not config.greedy,
                      pad_token_id=tokenizer.pad_token_id, **sampling)
        ids, mask = enc["input_ids"], enc["attention_mask"]
        if self.on_tokens is not None:
            common["stopping_criteria"] = [_TokenCount(self.on_tokens, ids.shape[0], ids.shape[1],
                                                       config.max_new_tokens)]
        if not self.share_prompt_cache or config.n == 1 or ids.shape[1] < 2:
            return lm.generate(**enc, num_return_sequences=config.n, **common)
        prefill = lm(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], use_cache=True)
        cache = prefill.past_key_values
        cache.batch_repeat_interleave(config.n)
        with warnings.catch_warnings():  # newer transformers name it ``cache``; older ones only know this name
            warnings.simplefilter("ignore", FutureWarning)
            return lm.generate(input_ids=ids.repeat_interleave(config.n, 0),
                               attention_mask=mask.repeat_interleave(config.n, 0), past_key_values=cache, **common)


class _TokenCount:
    """A stopping criterion that never stops: it reports each decoding step of a batch to ``report``."""

    def __init__(self, report, items: int, prompt_length: int, max_new_tokens: int):
        self.report, self.items, self.prompt_length, self.max_new_tokens = report, items, prompt_length, max_new_tokens

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        self.report(self.items, input_ids.shape[1] - self.prompt_length, self.max_new_tokens)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
