"""A local causal LM as judge, no server: it picks among the protocol's answers by their probability.

Ratings: the probabilities of the tokens ``1``..``7`` as the next token after the prompt; the rating is
the most probable one (argmax; the expected value is reported alongside). Rankings: after the shared
prefix ``Output (``, the probabilities of ``a`` and ``b``. One forward pass per question.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Sequence

from sparse_feedback.judge.backends import Completion, Messages, RequestError


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


class TransformersBackend:
    """``TransformersBackend("smollm2-135m")`` loads via ``sparse_feedback.hub``; or pass ``lm`` and ``tokenizer``."""

    name = "transformers"

    def __init__(self, model: str = "smollm2-135m", *, lm=None, tokenizer=None, **_ignored):
        self.model, self._lm, self._tokenizer = model, lm, tokenizer
        self._lock = threading.Lock()  # one forward pass at a time; the model is not re-entrant

    @property
    def params(self) -> dict:
        return {"scoring": "choice-probabilities"}

    @property
    def secrets(self) -> tuple[str, ...]:
        return ()

    def _load(self):
        if self._lm is None:
            from sparse_feedback.hub import load_causal_lm

            self._lm, self._tokenizer = load_causal_lm(self.model)
            self._lm.eval()
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
            ids = torch.tensor([self._prompt_ids(tokenizer, messages) + prefix])
            limit = getattr(lm.config, "max_position_embeddings", None)
            if limit and ids.shape[1] > limit:  # keep the end: the question and answer cue sit there
                ids = ids[:, -limit:]
            with torch.no_grad():
                logits = lm(input_ids=ids).logits[0, -1].float()
            probs = torch.softmax(logits[firsts], dim=0).tolist()
        best = max(range(len(choices)), key=probs.__getitem__)
        return Completion(choices[best], dict(zip(choices, probs)))

    async def complete(self, messages: Messages, choices: Sequence[str]) -> Completion:
        return await asyncio.to_thread(self.score, messages, choices)

    async def aclose(self) -> None:
        return None
