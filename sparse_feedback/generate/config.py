"""Sampling settings shared by every generation backend (also the ``generate`` CLI's options)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class SamplingConfig:
    """How many samples per instruction and how to draw them; ``temperature=0`` means greedy (n must be 1)."""

    n: int = 5
    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int = 0
    batch_size: int = 4  # instructions per forward pass (transformers) or requests in flight (openai)
    prompt_format: str = "auto"  # auto | alpaca | chat: see sparse_feedback.templates.policy_prompt

    def __post_init__(self):
        if self.n < 1:
            raise ValueError("n must be at least 1")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if self.temperature == 0 and self.n > 1:
            raise ValueError("greedy decoding (temperature 0) gives one output; use n=1")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.batch_size < 1 or self.max_new_tokens < 1:
            raise ValueError("batch_size and max_new_tokens must be positive")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def identity(self) -> dict:
        """The settings that decide what a sample is; a resumed run must match them."""
        d = asdict(self)
        for k in ("batch_size",):
            d.pop(k)
        return d
