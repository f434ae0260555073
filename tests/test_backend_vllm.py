"""The vllm backend on the CPU: a fake ``vllm`` module in sys.modules records what the engine is asked."""

import sys
import types
from dataclasses import dataclass, field

import pandas as pd
import pytest

from sparse_feedback.generate import SamplingConfig, generate, make_backend
from tiny_models import tiny_tokenizer

CALLS: list = []


@dataclass
class Logprob:
    logprob: float


@dataclass
class SamplingParams:
    n: int = 1
    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    logprobs: int | None = None
    allowed_token_ids: list = field(default_factory=list)


class LLM:
    def __init__(self, **kwargs):
        CALLS.append(("LLM", kwargs))
        self.tokenizer = tiny_tokenizer()

    def get_tokenizer(self):
        return self.tokenizer

    def generate(self, prompts, params):
        CALLS.append(("generate", prompts, params))
        if params.allowed_token_ids:  # judging: the second answer token is the more probable one
            logprobs = {t: Logprob(-2.0 + i) for i, t in enumerate(params.allowed_token_ids)}
            return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text="", logprobs=[logprobs])])]
        return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=f" sample {j} of prompt {i} ")
                                               for j in range(params.n)]) for i, _ in enumerate(prompts)]


@pytest.fixture
def fake_vllm(monkeypatch):
    CALLS.clear()
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = LLM, SamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    return CALLS


@pytest.mark.slow
def test_vllm_backend_asks_the_engine_for_n_samples_per_prompt_with_prefix_caching(fake_vllm, tmp_path):
    backend = make_backend("vllm", "some/model", device="cpu", tensor_parallel_size=2)
    frame = pd.DataFrame([{"instruction": "Say hi.", "input": ""}, {"instruction": "Add.", "input": "2, 3"}])
    records = generate(frame, backend, SamplingConfig(n=3, seed=5, prompt_format="alpaca"), tmp_path / "g.json")
    (_, engine), (_, prompts, params) = fake_vllm
    assert engine["model"] == "some/model" and engine["tensor_parallel_size"] == 2
    assert engine["enable_prefix_caching"] is True and engine["dtype"] == "float32"
    assert len(prompts) == 2 and prompts[1].startswith("Below is an instruction") and "2, 3" in prompts[1]
    assert (params.n, params.seed, params.temperature) == (3, 5, 0.7)
    assert [r["responses"] for r in records][1] == ["sample 0 of prompt 1", "sample 1 of prompt 1",
                                                    "sample 2 of prompt 1"]


@pytest.mark.slow
def test_vllm_backend_judges_by_the_answer_tokens_probabilities(fake_vllm):
    import asyncio

    backend = make_backend("vllm", "some/model", device="cpu")
    completion = asyncio.run(backend.complete([{"role": "user", "content": "Which is better?"}],
                                              ["Output (a)", "Output (b)"]))
    _, (_, _, params) = fake_vllm
    assert params.max_tokens == 1 and len(params.allowed_token_ids) == 2
    assert completion.text == "Output (b)" and completion.probs["Output (b)"] > 0.7


def test_without_vllm_installed_the_backend_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(LookupError, match="pip install vllm"):
        make_backend("vllm", "some/model", device="cpu")
