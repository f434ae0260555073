"""Generation settings: dataclasses that are also the ``generate`` CLI's argument set.

:class:`SamplingConfig` (how samples are drawn, shared by every backend) and :class:`GenerateConfig`
(which backend, where, on which device). Both give their fields to ``--options`` through
:mod:`sparse_feedback.config`.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_sampling_arguments(parser)
>>> SamplingConfig.from_args(parser.parse_args(["--n", "3", "--top-p", "0.5"]))
SamplingConfig(n=3, max_new_tokens=256, temperature=0.7, top_p=0.5, seed=0, batch_size=4, prompt_format='auto')
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass

from sparse_feedback import config as cli_config
from sparse_feedback.backends import BACKENDS
from sparse_feedback.config import arg
from sparse_feedback.device import DEVICES


@dataclass
class SamplingConfig:
    """How many samples per instruction and how to draw them; ``temperature=0`` means greedy (n must be 1)."""

    n: int = arg("samples per instruction", default=5)
    max_new_tokens: int = arg("tokens generated per sample at most", default=256)
    temperature: float = arg("sampling temperature; 0 = greedy (needs --n 1)", default=0.7)
    top_p: float = arg("nucleus sampling: keep the most probable tokens up to this mass", default=0.9)
    seed: int = arg("random seed (per batch, so resumed runs draw the same samples)", default=0)
    batch_size: int = arg("instructions per forward pass (transformers) or requests in flight (openai)",
                          default=4)
    prompt_format: str = arg("auto: the tokenizer's chat template when it has one (openai backend: chat), else "
                             "Alpaca", default="auto", meta={"choices": ["auto", "alpaca", "chat"]})

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

    @classmethod
    def from_args(cls, args: argparse.Namespace, **overrides) -> "SamplingConfig":
        return cli_config.from_args(cls, args, **overrides)


@dataclass
class GenerateConfig:
    """Which model answers, through which backend, on which device."""

    instructions: str = arg("instructions file (instruction, input[, dataset])", default="", meta={"required": True})
    model: str = arg("hub id, local path, alias (smollm2-135m) or served model name", default="",
                     meta={"required": True})
    output: str = arg("generation JSON to write", default="", meta={"required": True})
    backend: str = arg("transformers (local), vllm (local engine, when installed) or openai (any "
                       "OpenAI-compatible server)", default="transformers", meta={"choices": list(BACKENDS)})
    device: str = arg("local backends: auto = CUDA (bf16 where supported) when present, else CPU",
                      default="auto", meta={"choices": list(DEVICES)})
    tensor_parallel_size: int = arg("vllm backend: GPUs the model is split over", default=1)
    base_url: str | None = arg("openai backend: the server, e.g. http://127.0.0.1:8000/v1", default=None)
    api_key_env: str = arg("openai backend: environment variable holding the API key (none needed on this "
                           "machine)", default="OPENAI_API_KEY")
    max_retries: int = arg("openai backend: retries per request on 429/5xx/timeouts, with backoff", default=5)
    limit: int | None = arg("only the first N instructions", default=None)

    def backend_options(self) -> dict:
        """Keyword arguments for :func:`sparse_feedback.backends.make_backend`."""
        if self.backend == "openai":
            return {"base_url": self.base_url, "api_key_env": self.api_key_env, "max_retries": self.max_retries}
        if self.backend == "vllm":
            return {"device": self.device, "tensor_parallel_size": self.tensor_parallel_size}
        return {"device": self.device}


def add_sampling_arguments(parser: argparse.ArgumentParser, n: bool = True) -> None:
    """The sampling options (also used by commands that generate on the way)."""
    cli_config.add_arguments(parser, SamplingConfig, skip=() if n else ("n",))
