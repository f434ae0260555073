"""Rankings-RM training speed: this trainer vs TRL's RewardTrainer vs a pad-to-512, one-pair-at-a-time loop.

Same pairs (only those whose prompt + chosen and prompt + rejected fit --max-length, as TRL keeps),
same model (SmolLM2-135M, offline alias) and hyperparameters (LoRA r=32, alpha 64, dropout 0.05 on
q_proj,v_proj, score head trained, AdamW lr 1e-4, about 8 pairs per optimizer step, no gradient
checkpointing). TRL is run twice: with the same settings, and with its default gradient
checkpointing (less memory, more compute). Each method runs in a fresh process, so its peak memory
is its own (max RSS on CPU; max allocated on a GPU). Reported: pairs/s over one pass of the pairs
(model loading and tokenization excluded) and the ratios of ours to each.

    python bench/bench_train.py [--pairs 16] [--baseline-pairs 8] [--methods ours,trl,trl-default,pad512]

Pairs come from the seed sample (../shared/seed-data) when present, else synthetic Alpaca-like ones.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SEED_RANKINGS = ROOT.parent / "shared" / "seed-data" / "alpaca_generation" / "feedback_rankings_sample_generation.csv"
MODEL = "smollm2-135m"
LORA = dict(r=32, lora_alpha=64, lora_dropout=0.05, target_modules=["q_proj", "v_proj"], modules_to_save=["score"])
LR, PAIRS_PER_STEP = 1e-4, 8


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak(loaded_rss: float) -> dict:
    import torch

    if torch.cuda.is_available():
        return {"peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"peak_rss_mb": round(peak, 1), "peak_over_loaded_mb": round(peak - loaded_rss, 1)}


def synthetic_pairs(n: int):
    import pandas as pd

    from sparse_feedback.templates import alpaca_prompt

    words = "the model should explain each step of the answer clearly and give a short example".split()
    rows = []
    for i in range(n):
        instruction = " ".join(words[(i + k) % len(words)] for k in range(60 + 7 * (i % 9)))
        rows.append({"prompt": alpaca_prompt(instruction), "chosen": " ".join(words[: 10 + i % 30]),
                     "rejected": " ".join(words[: 5 + (3 * i) % 40])})
    return pd.DataFrame(rows)


def bench_pairs(n: int, max_length: int, seed: int = 0):
    """``n`` random pairs that fit ``max_length`` (TRL drops longer ones), from the seed sample if present."""
    from sparse_feedback.hub import load_tokenizer
    from sparse_feedback.reward.data import load_rankings, response_text

    pairs = load_rankings(SEED_RANKINGS) if SEED_RANKINGS.exists() else synthetic_pairs(4 * n)
    tok = load_tokenizer(MODEL)
    length = lambda texts: [len(ids) for ids in tok(list(texts))["input_ids"]]  # noqa: E731
    prompt = length(pairs["prompt"])
    chosen = length([response_text(t) for t in pairs["chosen"]])
    rejected = length([response_text(t) for t in pairs["rejected"]])
    fits = [p + max(c, r) + 1 <= max_length for p, c, r in zip(prompt, chosen, rejected)]  # +1: TRL's EOS
    kept = pairs[fits].sample(frac=1.0, random_state=seed).head(n).reset_index(drop=True)
    return kept, "seed sample" if SEED_RANKINGS.exists() else "synthetic"


LABELS = {
    "ours": "this trainer (packed, shared prompts)",
    "ours-one-pair": "this trainer, one pair per sequence",
    "trl": "TRL RewardTrainer, no gradient checkpointing (= ours)",
    "trl-default": "TRL RewardTrainer, its default gradient checkpointing",
    "pad512": "pad-to-512, one pair at a time",
}


# ---------------------------------------------------------------- the methods (each in a child process)

def run_ours(pairs, max_length: int, per_prompt: int) -> dict:
    from sparse_feedback.hub import load_tokenizer
    from sparse_feedback.reward.config import RewardConfig
    from sparse_feedback.reward.data import rankings_groups
    from sparse_feedback.reward.train import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        pairs.to_json(Path(tmp) / "pairs.jsonl", orient="records", lines=True)
        # batch_size counts packed sequences: choose it so a step holds about PAIRS_PER_STEP pairs
        n_groups = len(rankings_groups(pairs, load_tokenizer(MODEL), per_prompt))
        batch = max(1, round(PAIRS_PER_STEP * n_groups / len(pairs)))
        cfg = RewardConfig(protocol="rankings", train=str(Path(tmp) / "pairs.jsonl"), output_dir=str(Path(tmp) / "o"),
                           model=MODEL, epochs=1, batch_size=batch, lr=LR, max_length=max_length, eval_split=0.0,
                           lora_r=LORA["r"], lora_alpha=LORA["lora_alpha"], lora_dropout=LORA["lora_dropout"],
                           responses_per_prompt=per_prompt)
        trainer = Trainer(cfg)
        loaded = _rss_mb()
        trainer._start()
        started = time.perf_counter()
        while trainer.step < trainer.total:
            trainer.train_step(trainer.step)
            trainer.step += 1
        seconds = time.perf_counter() - started
        tokens = sum(trainer.lengths)
    return {"seconds": seconds, "pairs": len(pairs), "steps": trainer.total, "tokens_per_epoch": tokens,
            **_peak(loaded)}


def run_trl(pairs, max_length: int, checkpointing: bool = False) -> dict:
    import datasets
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import RewardConfig, RewardTrainer

    from sparse_feedback.hub import load_sequence_classifier
    from sparse_feedback.reward.data import response_text

    import torch

    model, tokenizer = load_sequence_classifier(MODEL)
    data = datasets.Dataset.from_dict({"prompt": list(pairs["prompt"]),
                                       "chosen": [response_text(t) for t in pairs["chosen"]],
                                       "rejected": [response_text(t) for t in pairs["rejected"]]})
    times = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            times["start"] = time.perf_counter()

        def on_train_end(self, *a, **k):
            times["end"] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        args = RewardConfig(output_dir=tmp, per_device_train_batch_size=PAIRS_PER_STEP, num_train_epochs=1,
                            learning_rate=LR, max_length=max_length, use_cpu=not torch.cuda.is_available(),
                            bf16=False, report_to=[], save_strategy="no", logging_steps=1, disable_dropout=False,
                            dataloader_num_workers=0, gradient_checkpointing=checkpointing)
        trainer = RewardTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                                peft_config=LoraConfig(task_type="SEQ_CLS", **LORA), callbacks=[Clock()])
        kept = len(trainer.train_dataset)
        loaded = _rss_mb()
        trainer.train()
    return {"seconds": times["end"] - times["start"], "pairs": kept, "steps": -(-kept // PAIRS_PER_STEP),
            **_peak(loaded)}


def run_pad512(pairs, max_length: int) -> dict:
    """The original's way: every sequence padded to max_length, one pair (chosen + rejected) per forward."""
    import torch
    import torch.nn.functional as F
    from peft import LoraConfig, get_peft_model

    from sparse_feedback.hub import load_sequence_classifier
    from sparse_feedback.reward.data import response_text

    model, tokenizer = load_sequence_classifier(MODEL)
    tokenizer.truncation_side = "left"
    model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", **LORA)).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    encoded = [tokenizer([p + response_text(c), p + response_text(r)], padding="max_length", truncation=True,
                         max_length=max_length, return_tensors="pt")
               for p, c, r in zip(pairs["prompt"], pairs["chosen"], pairs["rejected"])]
    loaded = _rss_mb()
    started = time.perf_counter()
    for i, batch in enumerate(encoded, start=1):
        scores = model(**batch).logits.squeeze(-1)
        (-F.logsigmoid(scores[0] - scores[1]) / PAIRS_PER_STEP).backward()
        if i % PAIRS_PER_STEP == 0 or i == len(encoded):
            optimizer.step()
            optimizer.zero_grad()
    return {"seconds": time.perf_counter() - started, "pairs": len(encoded),
            "steps": -(-len(encoded) // PAIRS_PER_STEP), **_peak(loaded)}


def _child(name, pairs, max_length, queue):
    os.environ.setdefault("SPARSE_FEEDBACK_OFFLINE", "1")
    import transformers

    transformers.logging.set_verbosity_error()
    runner = {"ours": lambda: run_ours(pairs, max_length, per_prompt=4),
              "ours-one-pair": lambda: run_ours(pairs, max_length, per_prompt=2),
              "trl": lambda: run_trl(pairs, max_length),
              "trl-default": lambda: run_trl(pairs, max_length, checkpointing=True),
              "pad512": lambda: run_pad512(pairs, max_length)}[name]
    queue.put(runner())


def measure(name, pairs, max_length) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, pairs, max_length, queue))
    proc.start()
    result = queue.get()
    proc.join()
    result["pairs_per_s"] = result["pairs"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=16, help="pairs for this trainer and TRL")
    parser.add_argument("--baseline-pairs", type=int, default=8,
                        help="pairs for the pad-to-512 loop (its cost per pair does not depend on the text)")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--methods", default="ours,trl,trl-default,pad512",
                        help=f"comma-separated, from: {', '.join(LABELS)}")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("SPARSE_FEEDBACK_OFFLINE", "1")
    import torch

    pairs, source = bench_pairs(args.pairs, args.max_length)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {os.cpu_count()} cores"
    print(f"{len(pairs)} pairs ({source}; {pairs['prompt'].nunique()} distinct prompts), {device}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    results = {}
    for name in args.methods.split(","):
        subset = pairs.head(args.baseline_pairs) if name == "pad512" else pairs
        results[name] = r = measure(name, subset, args.max_length)
        memory = ", ".join(f"{k} {v}" for k, v in r.items() if k.startswith("peak"))
        print(f"{name:14s} {LABELS[name]:52s} {r['pairs_per_s']:7.3f} pairs/s  ({r['pairs']} pairs, {r['steps']} "
              f"steps, {r['seconds']:.1f} s; {memory})", flush=True)
    ours = results["ours"]["pairs_per_s"]
    for name, goal in (("trl", 1.3), ("trl-default", 1.3), ("pad512", 4.0)):
        if name in results:
            print(f"speed-up of ours vs {name}: {ours / results[name]['pairs_per_s']:.2f}x (goal >= {goal}x)")
    print(f"load average at end {os.getloadavg()[0]:.1f} (the CPU is shared; ratios are from the same run)")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "source": source, "results": results}, indent=2))


if __name__ == "__main__":
    main()
