"""Candidates scored per second: ``rerank`` (packed prompts, length-sorted batches, dynamic padding) vs the
original scheme (every prompt + response on its own row, batches of 8 padded to 512 tokens), on the same
candidates with the same reward model in the same run.

    python bench/bench_rerank.py                       # SmolLM2-135M RM (untrained head), synthetic candidates
    python bench/bench_rerank.py --rm RUN/rm_rankings --candidates RUN/candidates.json
    python bench/bench_rerank.py --model CKPT --device cuda --instructions 16 --n 64   # issue 13's setup

Prints both rates, the speed-up (goal ≥ 4×), peak memory and how closely the two schemes' scores agree.
The original scheme's cost per candidate does not depend on the text (every row is 512 tokens), so
``--baseline-candidates N`` times it on the first N candidates only (its scores are compared on those).
On a GPU both schemes are run once untimed first (kernel compilation and caches out of the timings).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sparse_feedback.formats import read_generation, read_instructions  # noqa: E402
from sparse_feedback.rerank import candidates as flat_candidates, rerank  # noqa: E402
from sparse_feedback.templates import prompt_and_response  # noqa: E402


def synthetic_generation(n_instructions: int, n: int, seed: int = 0):
    """Packaged demo instructions with n responses each, 5-250 words long (sampled outputs vary that much)."""
    from importlib import resources

    import pandas as pd

    rng = random.Random(seed)
    words = "the a model answer is clear short long because and then first second finally water light".split()
    path = Path(str(resources.files("sparse_feedback").joinpath("data", "demo_instructions.json")))
    rows = read_instructions(path).head(n_instructions)
    responses = [[" ".join(rng.choice(words) for _ in range(int(rng.lognormvariate(3.8, 0.8)) % 250 + 5))
                  for _ in range(n)] for _ in range(len(rows))]
    return pd.DataFrame({"instruction": rows["instruction"], "input": rows["input"], "responses": responses})


def untrained_rm(base: str, directory: Path) -> Path:
    """A full reward-model directory over ``base`` with a fresh score head: speed does not depend on training."""
    from sparse_feedback.hub import load_sequence_classifier
    from sparse_feedback.reward.config import RewardConfig

    model, tokenizer = load_sequence_classifier(base)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    RewardConfig(protocol="rankings", model=base, train="-", output_dir=str(directory)).save(directory)
    return directory


def peak_memory(device: str) -> str:
    if device.startswith("cuda"):
        return f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
    return f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@torch.inference_mode()
def original_scores(rm, flat, batch_size: int = 8, max_length: int = 512) -> np.ndarray:
    """The original reranker: prompt + response per row, right-padded to 512, batches of 8 in file order.

    With PyTorch's SDPA attention (what the original gets on any device), even where ours uses FlexAttention.
    """
    classifier, tokenizer = rm.model.classifier, rm.tokenizer
    tokenizer.padding_side = "right"
    ours = classifier.config._attn_implementation
    classifier.set_attn_implementation("sdpa")
    texts = ["".join(prompt_and_response(i, x, r)) for i, x, r in
             zip(flat["instruction"], flat["input"], flat["response"])]
    out = []
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(texts[start:start + batch_size], padding="max_length", max_length=max_length,
                        truncation=True, return_tensors="pt").to(rm.device)
        out.extend(classifier(**enc).logits[:, 0].float().tolist())
    classifier.set_attn_implementation(ours)
    return np.asarray(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rm", help="a trained reward-model directory (default: SmolLM2-135M, fresh head)")
    parser.add_argument("--base", "--model", dest="base", default="smollm2-135m",
                        help="backbone of the default RM: any checkpoint (e.g. from bench/make_checkpoint.py)")
    parser.add_argument("--device", default="auto", help="auto, cuda or cpu")
    parser.add_argument("--baseline-candidates", type=int, default=0,
                        help="time the original scheme on the first N candidates only (0: all)")
    parser.add_argument("--candidates", help="generation JSON (default: synthetic)")
    parser.add_argument("--instructions", type=int, default=8)
    parser.add_argument("--n", type=int, default=16, help="candidates per instruction (synthetic)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="rerank's candidates per forward pass (default: 16 on the CPU, 512 on a GPU)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from sparse_feedback.reward import load_reward_model

    generation = (read_generation(args.candidates).head(args.instructions) if args.candidates
                  else synthetic_generation(args.instructions, args.n))
    flat = flat_candidates(generation)
    base = flat.head(args.baseline_candidates) if args.baseline_candidates else flat
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        rm = load_reward_model(args.rm or untrained_rm(args.base, Path(tmp) / "rm"), device=args.device)
        rm.score(["warm up"], [""], ["a short answer"])  # first-call overheads out of both timings
        if rm.device.startswith("cuda"):  # compile every shape once, untimed
            rerank(generation, rm, Path(tmp) / "warm.json", "bench", batch_size=args.batch_size)
            original_scores(rm, base)
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        summary = rerank(generation, rm, Path(tmp) / "out.json", "bench", batch_size=args.batch_size)
        synchronize(rm.device)
        ours = time.perf_counter() - started
        ours_memory = peak_memory(rm.device)
        ours_scores = np.asarray([c["score"] for rec in json.loads((Path(tmp) / "out.scores.json").read_text())
                                  for c in rec["candidates"]])
        started = time.perf_counter()
        theirs_scores = original_scores(rm, base)
        synchronize(rm.device)
        theirs = time.perf_counter() - started

    tokens = [len(rm.tokenizer("".join(prompt_and_response(i, x, r)))["input_ids"])
              for i, x, r in zip(flat["instruction"], flat["input"], flat["response"])]
    n, m = len(flat), len(base)
    ends = np.cumsum(generation["responses"].map(len))[:-1]
    whole = [(a, b) for a, b in zip(np.split(ours_scores, ends), np.split(theirs_scores, ends)) if len(a) == len(b)]
    same_choice = np.mean([int(np.argmax(a) == np.argmax(b)) for a, b in whole]) if whole else float("nan")
    device = f"{rm.device} ({rm.model.classifier.config._attn_implementation}, {rm.model.classifier.dtype})"
    print(f"{n} candidates ({len(generation)} instructions), prompt+response tokens: median {int(np.median(tokens))}, "
          f"max {max(tokens)}; {device}; torch threads {torch.get_num_threads()}; load average {load:.1f} at start, "
          f"{os.getloadavg()[0]:.1f} at end")
    print(f"rerank (packed, length-sorted, dynamic padding): {n / ours:8.1f} candidates/s ({ours:.1f} s; {ours_memory})")
    print(f"original (batches of 8 padded to 512):          {m / theirs:8.1f} candidates/s ({theirs:.1f} s for {m}; "
          f"{peak_memory(rm.device)})")
    print(f"speed-up: {(n / ours) / (m / theirs):.2f}x (goal >= 4x)")
    print(f"score agreement on {m} candidates: max |diff| {np.max(np.abs(ours_scores[:m] - theirs_scores)):.4f}, "
          f"same best candidate for {100 * same_choice:.0f} % of {len(whole)} whole instructions; "
          f"rerank summary {summary['candidates']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
