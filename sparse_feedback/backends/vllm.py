"""The offline vLLM engine (``vllm.LLM``), when ``vllm`` is installed: the scale-out path on GPUs.

Sampling asks for all n samples of a prompt in one request (``SamplingParams(n=...)``), so vLLM prefills
the prompt once; prefix caching shares the common template across prompts; ``tensor_parallel_size``
splits the model over several GPUs. Judging scores the protocol's answer tokens, as the transformers
backend does, from the engine's log-probabilities of the next token. A vLLM *server* is reached with the
``openai`` backend instead.
"""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Sequence

from sparse_feedback.backends import Completion, LocalModel, Item, Messages, OnResult, RequestError
from sparse_feedback.backends.transformers import distinguishing_tokens


class VLLMBackend(LocalModel):
    name = "vllm"

    def __init__(self, model: str, *, device: str = "auto", tensor_parallel_size: int = 1,
                 gpu_memory_utilization: float = 0.9, enable_prefix_caching: bool = True, **_ignored):
        try:
            import vllm  # noqa: F401
        except ImportError:
            raise LookupError("the vllm backend needs the vllm package (pip install vllm)") from None
        from sparse_feedback.device import resolve_device
        from sparse_feedback.hub import resolve

        self.model = self.model_name = model
        self.device = resolve_device(device)
        self.engine_args = dict(model=resolve(model), tensor_parallel_size=tensor_parallel_size,
                                enable_prefix_caching=enable_prefix_caching, dtype=self.device.dtype)
        if self.device.is_cuda:
            self.engine_args["gpu_memory_utilization"] = gpu_memory_utilization
        self._llm = None
        self._lock = threading.Lock()  # the engine runs one generate call at a time

    def _load(self):
        if self._llm is None:
            from vllm import LLM

            self._llm = LLM(**self.engine_args)
        return self._llm

    def generate(self, items: list[Item], config, on_result: OnResult) -> None:
        """All items in one engine call (vLLM schedules and batches them itself), n samples each."""
        from vllm import SamplingParams

        from sparse_feedback.templates import policy_prompt

        llm = self._load()
        tokenizer = llm.get_tokenizer()
        prompts = [policy_prompt(ins, inp, tokenizer, config.prompt_format) for _, ins, inp in items]
        sampling = SamplingParams(n=config.n, max_tokens=config.max_new_tokens, seed=config.seed,
                                  temperature=config.temperature, top_p=1.0 if config.greedy else config.top_p)
        with self._lock:
            outputs = llm.generate(prompts, sampling)
        for (index, _, _), output in zip(items, outputs):
            on_result(index, [c.text.strip() for c in output.outputs])

    def score(self, messages: Messages, choices: Sequence[str]) -> Completion:
        """The most probable choice, with every choice's probability (renormalised over the choices)."""
        from vllm import SamplingParams

        if not choices:
            raise RequestError("the vllm backend needs the protocol's answer choices")
        llm = self._load()
        tokenizer = llm.get_tokenizer()
        prefix, firsts = distinguishing_tokens([tokenizer(c, add_special_tokens=False)["input_ids"] for c in choices])
        text = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False) \
            if getattr(tokenizer, "chat_template", None) else "\n\n".join(m["content"] for m in messages) + "\n"
        prompt = {"prompt_token_ids": tokenizer(text, add_special_tokens=False)["input_ids"] + prefix}
        sampling = SamplingParams(max_tokens=1, temperature=0.0, logprobs=len(firsts), allowed_token_ids=firsts)
        with self._lock:
            (output,) = llm.generate([prompt], sampling)
        top = output.outputs[0].logprobs[0]  # token id -> Logprob
        logps = [getattr(top.get(t), "logprob", -math.inf) for t in firsts]
        peak = max(logps)
        if peak == -math.inf:
            raise RequestError("the engine returned no log-probabilities for the answer tokens")
        weights = [math.exp(lp - peak) for lp in logps]
        probs = [w / sum(weights) for w in weights]
        best = max(range(len(choices)), key=probs.__getitem__)
        return Completion(choices[best], dict(zip(choices, probs)))

    async def complete(self, messages: Messages, choices: Sequence[str]) -> Completion:
        return await asyncio.to_thread(self.score, messages, choices)

    async def aclose(self) -> None:
        return None
