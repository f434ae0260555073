"""Local sampling with transformers: prompts batched with left padding, ``num_return_sequences=n``."""

from __future__ import annotations

from sparse_feedback.generate.backends import Item, OnResult
from sparse_feedback.generate.config import SamplingConfig


class TransformersBackend:
    name = "transformers"

    def __init__(self, model: str):
        from sparse_feedback.hub import load_causal_lm

        self.model_name = model
        self.model, self.tokenizer = load_causal_lm(model)

    def prompts(self, items: list[Item], config: SamplingConfig) -> list[str]:
        from sparse_feedback.templates import policy_prompt

        return [policy_prompt(ins, inp, self.tokenizer, config.prompt_format) for _, ins, inp in items]

    def generate(self, items: list[Item], config: SamplingConfig, on_result: OnResult) -> None:
        import torch

        for start in range(0, len(items), config.batch_size):
            batch = items[start:start + config.batch_size]
            # A chat template already holds the BOS token; don't add a second one.
            enc = self.tokenizer(self.prompts(batch, config), return_tensors="pt", padding=True,
                                 add_special_tokens=not self._chat(config))
            torch.manual_seed(config.seed + batch[0][0])  # reproducible per batch, whatever was resumed
            sampling = {} if config.greedy else {"temperature": config.temperature, "top_p": config.top_p}
            with torch.inference_mode():
                out = self.model.generate(**enc, max_new_tokens=config.max_new_tokens, do_sample=not config.greedy,
                                          num_return_sequences=config.n, pad_token_id=self.tokenizer.pad_token_id,
                                          **sampling)
            texts = self.tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            for j, (index, _, _) in enumerate(batch):
                on_result(index, [t.strip() for t in texts[j * config.n:(j + 1) * config.n]])

    def _chat(self, config: SamplingConfig) -> bool:
        from sparse_feedback.templates import uses_chat

        return uses_chat(self.tokenizer, config.prompt_format)
