"""Best-of-n sampling speed: the project's transformers backend against plain ``model.generate`` per prompt.

Baseline, measured in the same run: one ``model.generate(num_return_sequences=n)`` per prompt, no batching,
no shared prompt cache (the original's way). Candidates: the backend with its prompt KV cache shared
across the n samples (default) and without it (``num_return_sequences``, as before this bench). Prints
samples/s, the ratio to the baseline and peak memory for each, on ``--device``::

    python bench/bench_generate.py --model smollm2-135m --device cpu --instructions 4 --n 8 --max-new-tokens 32
    python bench/bench_generate.py --model /tmp/smollm2-135m-random --device cuda --instructions 16 --n 64
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = ["Give three tips for staying healthy.", "Explain why the sky is blue to a child.",
           "Write a short poem about autumn leaves falling in a quiet park.", "What is the capital of France?",
           "Summarize the plot of a heist movie in two sentences, then name its main character.",
           "List the planets of the solar system in order from the sun.", "Translate 'good morning' into Spanish.",
           "Describe how a bicycle gear system works, step by step, for a curious teenager."]


def peak_memory(device) -> str:
    import torch

    if device.is_cuda:
        return f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB GPU"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB RSS (process high-water mark)"


def reset_peak(device) -> None:
    import torch

    if device.is_cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m", help="any causal LM checkpoint (path, hub id or alias)")
    parser.add_argument("--device", default="auto", help="auto, cuda or cpu")
    parser.add_argument("--instructions", type=int, default=4)
    parser.add_argument("--n", type=int, default=8, help="samples per instruction")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=4, help="instructions per forward pass (ours)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each; the best is reported")
    args = parser.parse_args()

    import torch

    from sparse_feedback.backends.transformers import TransformersBackend
    from sparse_feedback.device import describe
    from sparse_feedback.generate import SamplingConfig

    ours = TransformersBackend(args.model, device=args.device)
    lm, tokenizer = ours._load()
    device = ours.device
    items = [(i, PROMPTS[i % len(PROMPTS)], "") for i in range(args.instructions)]
    # min_new_tokens: every sample runs to full length, so the three ways do the same work
    config = SamplingConfig(n=args.n, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    lm.generation_config.min_new_tokens = args.max_new_tokens
    samples = args.instructions * args.n

    def baseline():
        for prompt in ours.prompts(items, config):
            enc = tokenizer(prompt, return_tensors="pt").to(lm.device)
            with torch.inference_mode():
                lm.generate(**enc, max_new_tokens=args.max_new_tokens, do_sample=True, temperature=0.7, top_p=0.9,
                            num_return_sequences=args.n, pad_token_id=tokenizer.pad_token_id)

    def backend(shared: bool):
        def run():
            ours.share_prompt_cache = shared
            ours.generate(items, config, lambda index, responses: None)
        return run

    print(f"device: {describe(device)}; model {args.model}; {args.instructions} instructions x n={args.n} x "
          f"{args.max_new_tokens} new tokens")
    baseline()  # warm-up (first-call allocations, kernels)
    results = {}
    for name, run in (("baseline: model.generate per prompt", baseline),
                      ("ours: batched by length, shared prompt cache", backend(True)),
                      ("ours: batched by length, num_return_sequences", backend(False))):
        reset_peak(device)
        best = float("inf")
        for _ in range(args.repeats):
            if device.is_cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            run()
            if device.is_cuda:
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
        results[name] = samples / best
        base = next(iter(results.values()))
        print(f"{name:48s} {samples / best:8.2f} samples/s  {results[name] / base:5.2f}x baseline  "
              f"peak {peak_memory(device)}")


if __name__ == "__main__":
    main()
