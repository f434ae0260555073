"""Rankings-RM training speed: this trainer vs TRL's RewardTrainer vs a pad-to-512, one-pair-at-a-time loop.

Same pairs (only those whose prompt + chosen and prompt + rejected fit --max-length, as TRL keeps),
same model (SmolLM2-135M, offline alias) and hyperparameters (LoRA r=32, alpha 64, dropout 0.05 on
q_proj,v_proj, score head trained, AdamW lr 1e-4, about 8 pairs per optimizer step, no gradient
checkpointing). TRL is run twice: with the same settings, and with its default gradient
checkpointing (less memory, more compute). Each method runs in a fresh process, so its peak memory
is its own (max RSS on CPU; max allocated on a GPU). Reported: pairs/s over one pass of the pairs
(model loading and tokenization excluded) and the ratios of ours to each.

    python bench/bench_train.py [--pairs 16] [--baseline-pairs 8] [--methods ours,trl,trl-default,pad512]
    python bench/bench_train.py --model CKPT --device cuda --data paper --pairs 384 --pairs-per-step 48 \
        --max-length 1024 --methods ours,ours-one-pair,trl        # the GPU setup of issue 13
    python bench/bench_train.py --data seed-full --steps 2 --methods ours,ours-ratings,trl,trl-default
    python bench/bench_train.py --data seed-full --stretch 3 --sweep 512,1024,2048 --steps 1 --pairs-per-step 2

``--data seed-full`` takes every pair of the seed sample at its real lengths (ours cuts long prompts from the
left; TRL drops the pairs longer than --max-length, as it does); ``ours-ratings`` trains the ratings RM on
the seed's rating feedback. Peak memory is the process tree's RSS, sampled every 0.1 s from outside the child
(what the out-of-memory killer weighs); a method past --memory-cap-gb is stopped and reported as such.
``--sweep`` trains ours at each max length and prints the peak and the bytes per token of its largest pass,
to show memory growing linearly with tokens; ``--stretch K`` repeats each seed instruction K times so the
longer max lengths really bind.

Pairs come from the seed sample (../shared/seed-data) when present, else synthetic Alpaca-like ones;
``--data paper`` makes paper-shaped ones (4 responses per instruction, all 6 pairs, prompts 120-260
words, responses 40-160 words). On a GPU, ours runs in bf16 with FlexAttention and is warmed up first
(one forward/backward per distinct batch shape, so kernel compilation is not timed); TRL runs in bf16.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
from queue import Empty
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from sparse_feedback.reward.memory import PeakTreeRSS  # noqa: E402  (torch-free)
SEED_RANKINGS = ROOT.parent / "shared" / "seed-data" / "alpaca_generation" / "feedback_rankings_sample_generation.csv"
LORA = dict(r=32, lora_alpha=64, lora_dropout=0.05, target_modules=["q_proj", "v_proj"], modules_to_save=["score"])
LR = 1e-4
SEED_RATINGS = SEED_RANKINGS.with_name("feedback_ratings_sample_generation.csv")
# set by main(), passed to each child
OPTS = {"model": "smollm2-135m", "device": "auto", "pairs_per_step": 8, "steps": 0, "stretch": 1}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _device():
    from sparse_feedback.device import resolve_device

    return resolve_device(OPTS["device"])


def _peak(loaded_rss: float) -> dict:
    if _device().is_cuda:
        import torch

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


def paper_pairs(n: int, seed: int = 0):
    """Paper-shaped pairs: 4 responses per instruction, all 6 pairs, prompts 120-260 words, responses 40-160."""
    import itertools
    import random

    import pandas as pd

    from sparse_feedback.templates import alpaca_prompt

    rng = random.Random(seed)
    words = ("the model should explain each step of the answer clearly and give a short example about water light "
             "numbers history because first second finally").split()
    text = lambda a, b: " ".join(rng.choice(words) for _ in range(rng.randint(a, b)))  # noqa: E731
    rows = []
    for _ in range(-(-n // 6)):
        prompt, responses = alpaca_prompt(text(120, 260)), [text(40, 160) for _ in range(4)]
        rows += [{"prompt": prompt, "chosen": a, "rejected": b} for a, b in itertools.combinations(responses, 2)]
    return pd.DataFrame(rows[:n])


def bench_pairs(n: int, max_length: int, data: str = "seed", seed: int = 0):
    """``n`` random pairs that fit ``max_length`` (TRL drops longer ones), from the seed sample if present."""
    from sparse_feedback.hub import load_tokenizer
    from sparse_feedback.reward.data import load_rankings, response_text

    if data == "seed-full":
        return stretched(load_rankings(SEED_RANKINGS)), "the whole seed sample at its real lengths" + (
            f", instructions x{OPTS['stretch']}" if OPTS["stretch"] > 1 else "")
    if data == "paper":
        pairs, source = paper_pairs(2 * n), "paper-shaped synthetic"
    elif SEED_RANKINGS.exists():
        pairs, source = load_rankings(SEED_RANKINGS), "seed sample"
    else:
        pairs, source = synthetic_pairs(4 * n), "synthetic"
    tok = load_tokenizer(OPTS["model"])
    length = lambda texts: [len(ids) for ids in tok(list(texts))["input_ids"]]  # noqa: E731
    prompt = length(pairs["prompt"])
    chosen = length([response_text(t) for t in pairs["chosen"]])
    rejected = length([response_text(t) for t in pairs["rejected"]])
    fits = [p + max(c, r) + 1 <= max_length for p, c, r in zip(prompt, chosen, rejected)]  # +1: TRL's EOS
    kept = pairs[fits]
    if data != "paper":  # paper-shaped pairs keep their instructions whole (6 pairs each)
        kept = kept.sample(frac=1.0, random_state=seed)
    return kept.head(n).reset_index(drop=True), source


def stretched(table):
    """The table with each prompt's instruction repeated ``OPTS['stretch']`` times (real text, longer rows)."""
    k = OPTS["stretch"]
    if k <= 1:
        return table
    marker = "### Instruction:\n"
    table = table.copy()
    table["prompt"] = [p.replace(marker, marker + (p.split(marker, 1)[1].split("\n\n###", 1)[0] + " ") * (k - 1), 1)
                       if marker in p else p for p in table["prompt"]]
    return table


LABELS = {
    "ours": "this trainer (packed, shared prompts)",
    "ours-ratings": "this trainer, ratings RM on the seed's rating feedback",
    "ours-one-pair": "this trainer, one pair per sequence",
    "trl": "TRL RewardTrainer, no gradient checkpointing (= ours)",
    "trl-default": "TRL RewardTrainer, its default gradient checkpointing",
    "pad512": "pad-to-512, one pair at a time",
}


# ---------------------------------------------------------------- the methods (each in a child process)

def _warm_up(trainer) -> float:
    """One forward/backward per distinct batch shape (kernels compile on a GPU), no optimizer step."""
    started, seen = time.perf_counter(), set()
    for step in range(trainer.total):
        for share in trainer._micro_batches(step):
            batch = trainer.collator([trainer.train_groups[i] for i in share])
            if tuple(batch["input_ids"].shape) in seen:
                continue
            seen.add(tuple(batch["input_ids"].shape))
            with trainer.acc.autocast():
                trainer.model(**trainer._to_device(batch)).sum().backward()
    trainer.optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - started


def run_ours(pairs, max_length: int, per_prompt: int, protocol: str = "rankings") -> dict:
    from sparse_feedback.hub import load_tokenizer
    from sparse_feedback.reward.config import RewardConfig
    from sparse_feedback.reward.data import rankings_groups
    from sparse_feedback.reward.train import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        if protocol == "ratings":  # the rated responses, one group per prompt as in the default training
            train_file, batch = str(SEED_RATINGS), OPTS["pairs_per_step"]
        else:
            train_file = str(Path(tmp) / "pairs.jsonl")
            pairs.to_json(train_file, orient="records", lines=True)
            # batch_size counts packed sequences: choose it so a step holds about --pairs-per-step pairs
            n_groups = len(rankings_groups(pairs, load_tokenizer(OPTS["model"]), per_prompt))
            batch = max(1, round(OPTS["pairs_per_step"] * n_groups / len(pairs)))
        cfg = RewardConfig(protocol=protocol, train=train_file, output_dir=str(Path(tmp) / "o"),
                           max_steps=OPTS["steps"], model=OPTS["model"], epochs=1, batch_size=batch, lr=LR,
                           max_length=max_length,
                           eval_split=0.0, lora_r=LORA["r"], lora_alpha=LORA["lora_alpha"],
                           lora_dropout=LORA["lora_dropout"], responses_per_prompt=per_prompt, device=OPTS["device"])
        trainer = Trainer(cfg)
        loaded = _rss_mb()
        trainer._start()
        warm = _warm_up(trainer) if trainer.device.is_cuda else 0.0
        if trainer.device.is_cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        while trainer.step < trainer.total:
            trainer.train_step(trainer.step)
            trainer.step += 1
        if trainer.device.is_cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        tokens = sum(trainer.lengths)
        widest = max((b["input_ids"].shape for s in range(trainer.total) for b, _ in trainer._passes(s)),
                     key=lambda shape: shape[0] * shape[1])
        examples = sum(len(trainer.train_groups[i].pairs or trainer.train_groups[i].responses)
                       for s in range(trainer.total) for share in trainer._micro_batches(s) for i in share)
    return {"seconds": seconds, "pairs": examples, "steps": trainer.total, "tokens_per_epoch": tokens,
            "budget": trainer.budget, "largest_pass": f"{widest[0]}x{widest[1]}",
            "largest_pass_tokens": int(widest[0] * widest[1]),
            "tokens_per_s": round(tokens / seconds, 1), "warm_up_s": round(warm, 1),
            "attention": trainer.attention, "dtype": trainer.device.dtype, **_peak(loaded)}


def run_trl(pairs, max_length: int, checkpointing: bool = False) -> dict:
    import datasets
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import RewardConfig, RewardTrainer

    from sparse_feedback.hub import load_sequence_classifier
    from sparse_feedback.reward.data import response_text

    import torch

    device = _device()
    model, tokenizer = load_sequence_classifier(OPTS["model"], dtype=torch.float32)  # AMP as TRL does
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
        args = RewardConfig(output_dir=tmp, per_device_train_batch_size=OPTS["pairs_per_step"], num_train_epochs=1,
                            learning_rate=LR, max_length=max_length, use_cpu=not device.is_cuda,
                            bf16=device.dtype == "bfloat16", report_to=[], save_strategy="no", logging_steps=1,
                            disable_dropout=False,
                            dataloader_num_workers=0, gradient_checkpointing=checkpointing,
                            max_steps=OPTS["steps"] or -1)
        trainer = RewardTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                                peft_config=LoraConfig(task_type="SEQ_CLS", **LORA), callbacks=[Clock()])
        kept = len(trainer.train_dataset)
        loaded = _rss_mb()
        trainer.train()
    steps = -(-kept // OPTS["pairs_per_step"])
    if OPTS["steps"]:
        steps = min(steps, OPTS["steps"])
        kept = min(kept, steps * OPTS["pairs_per_step"])
    return {"seconds": times["end"] - times["start"], "pairs": kept, "steps": steps,
            "dropped_pairs": len(pairs) - len(trainer.train_dataset), **_peak(loaded)}


def run_pad512(pairs, max_length: int) -> dict:
    """The original's way: every sequence padded to max_length, one pair (chosen + rejected) per forward."""
    import torch
    import torch.nn.functional as F
    from peft import LoraConfig, get_peft_model

    from sparse_feedback.hub import load_sequence_classifier
    from sparse_feedback.reward.data import response_text

    device = _device()
    per_step = OPTS["pairs_per_step"]
    model, tokenizer = load_sequence_classifier(OPTS["model"], dtype=torch.float32)  # AMP as TRL does
    tokenizer.truncation_side = "left"
    model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", **LORA)).to(device.type).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    encoded = [tokenizer([p + response_text(c), p + response_text(r)], padding="max_length", truncation=True,
                         max_length=max_length, return_tensors="pt").to(device.type)
               for p, c, r in zip(pairs["prompt"], pairs["chosen"], pairs["rejected"])]
    loaded = _rss_mb()
    started = time.perf_counter()
    autocast = torch.autocast(device.type, dtype=device.torch_dtype, enabled=device.is_cuda)
    for i, batch in enumerate(encoded, start=1):
        with autocast:
            scores = model(**batch).logits.squeeze(-1).float()
        (-F.logsigmoid(scores[0] - scores[1]) / per_step).backward()
        if i % per_step == 0 or i == len(encoded):
            optimizer.step()
            optimizer.zero_grad()
    if device.is_cuda:
        torch.cuda.synchronize()
    return {"seconds": time.perf_counter() - started, "pairs": len(encoded),
            "steps": -(-len(encoded) // per_step), **_peak(loaded)}


def _child(name, pairs, max_length, opts, queue):
    os.environ.setdefault("SPARSE_FEEDBACK_OFFLINE", "1")
    OPTS.update(opts)
    import transformers

    transformers.logging.set_verbosity_error()
    runner = {"ours": lambda: run_ours(pairs, max_length, per_prompt=4),
              "ours-ratings": lambda: run_ours(pairs, max_length, per_prompt=4, protocol="ratings"),
              "ours-one-pair": lambda: run_ours(pairs, max_length, per_prompt=2),
              "trl": lambda: run_trl(pairs, max_length),
              "trl-default": lambda: run_trl(pairs, max_length, checkpointing=True),
              "pad512": lambda: run_pad512(pairs, max_length)}[name]
    queue.put(runner())


def measure(name, pairs, max_length) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, pairs, max_length, dict(OPTS), queue))
    proc.start()
    cap = OPTS.get("memory_cap_gb", 0) * 2**30
    with PeakTreeRSS(proc.pid) as watch:
        while True:  # a child that dies (an error, out of memory) must not leave us waiting
            try:
                result = queue.get(timeout=1)
                break
            except Empty:
                if cap and watch.peak > cap:
                    proc.kill()
                    proc.join()
                    return {"stopped": f"past the {cap / 2**30:.0f} GB cap", "peak_tree_rss_gb": watch.peak / 2**30}
                if not proc.is_alive():
                    reason = "killed (out of memory?)" if proc.exitcode == -9 else f"exit code {proc.exitcode}"
                    return {"stopped": reason, "peak_tree_rss_gb": watch.peak / 2**30}
        proc.join()
    result["peak_tree_rss_gb"] = round(watch.peak / 2**30, 2)
    result["pairs_per_s"] = result["pairs"] / result["seconds"]
    return result


def _line(name: str, r: dict) -> str:
    if "stopped" in r:
        return f"{name:14s} {LABELS[name]:52s} stopped: {r['stopped']} (peak tree RSS {r['peak_tree_rss_gb']:.2f} GB)"
    memory = ", ".join(f"{k} {v}" for k, v in r.items() if k.startswith(("peak", "tokens_per_s", "warm", "budget",
                                                                           "largest", "dropped")))
    return (f"{name:14s} {LABELS[name]:52s} {r['pairs_per_s']:7.3f} pairs/s  ({r['pairs']} pairs, {r['steps']} "
            f"steps, {r['seconds']:.1f} s; {memory})")


def sweep(pairs, lengths: list[int]) -> dict:
    """Ours at each max length: peak tree RSS and its growth over the smallest, per token of the largest pass."""
    results = {}
    for max_length in lengths:
        results[max_length] = r = measure("ours", pairs, max_length)
        print(f"max length {max_length:5d}: " + _line("ours", r).split(None, 1)[1], flush=True)
    ok = {n: r for n, r in results.items() if "stopped" not in r}
    if len(ok) >= 2:
        first, *rest = sorted(ok)
        for n in rest:
            ratio = lambda key: ok[n][key] / ok[first][key]  # noqa: E731
            print(f"max length {n} / {first}: tokens per epoch x{ratio('tokens_per_epoch'):.2f}, largest pass "
                  f"x{ratio('largest_pass_tokens'):.2f}, peak tree RSS x{ratio('peak_tree_rss_gb'):.2f}, growth "
                  f"over the loaded model x{ratio('peak_over_loaded_mb'):.2f}")
        for n in sorted(ok):
            if "peak_over_loaded_mb" in ok[n]:
                per_token = ok[n]["peak_over_loaded_mb"] * 2**10 / ok[n]["largest_pass_tokens"]
                print(f"max length {n}: {per_token:.0f} KB of growth per token of the largest pass")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=16, help="pairs for this trainer and TRL")
    parser.add_argument("--baseline-pairs", type=int, default=8,
                        help="pairs for the pad-to-512 loop (its cost per pair does not depend on the text)")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--model", default=OPTS["model"], help="any checkpoint (e.g. from bench/make_checkpoint.py)")
    parser.add_argument("--device", default="auto", help="auto, cuda or cpu")
    parser.add_argument("--pairs-per-step", type=int, default=8, help="pairs per optimizer step (TRL's batch size)")
    parser.add_argument("--data", choices=["seed", "paper", "seed-full"], default="seed",
                        help="seed sample pairs that fit --max-length, paper-shaped synthetic ones, or every seed "
                             "pair at its real length")
    parser.add_argument("--steps", type=int, default=0, help="stop each method after this many optimizer steps")
    parser.add_argument("--stretch", type=int, default=1, help="repeat each seed instruction this many times")
    parser.add_argument("--sweep", help="comma-separated max lengths: ours at each, peak memory vs tokens")
    parser.add_argument("--memory-cap-gb", type=float, default=16,
                        help="stop a method whose process tree passes this (0: no cap)")
    parser.add_argument("--methods", default="ours,trl,trl-default,pad512",
                        help=f"comma-separated, from: {', '.join(LABELS)}")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("SPARSE_FEEDBACK_OFFLINE", "1")
    from sparse_feedback.device import describe

    OPTS.update(model=args.model, device=args.device, pairs_per_step=args.pairs_per_step, steps=args.steps,
                stretch=args.stretch, memory_cap_gb=args.memory_cap_gb)
    pairs, source = bench_pairs(args.pairs, args.max_length, args.data)
    device = describe(_device()) + ("" if _device().is_cuda else f", {os.cpu_count()} cores")
    print(f"{len(pairs)} pairs ({source}; {pairs['prompt'].nunique()} distinct prompts), model {args.model}, "
          f"{args.pairs_per_step} pairs/step, max length {args.max_length}, {device}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    if args.sweep:
        results = sweep(pairs, [int(n) for n in args.sweep.split(",")])
    else:
        results = compare(args, pairs)
    print(f"load average at end {os.getloadavg()[0]:.1f} (the CPU is shared; ratios are from the same run)")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "source": source, "results": results}, indent=2))


def compare(args, pairs) -> dict:
    results = {}
    for name in args.methods.split(","):
        subset = pairs.head(args.baseline_pairs) if name == "pad512" else pairs
        results[name] = r = measure(name, subset, args.max_length)
        print(_line(name, r), flush=True)
    ours = results.get("ours", {}).get("pairs_per_s")
    for name, goal in (("ours-one-pair", None), ("trl", 3.0 if _device().is_cuda else 2.0),
                       ("trl-default", None), ("pad512", 4.0)):
        if ours and results.get(name, {}).get("pairs_per_s"):
            print(f"speed-up of ours vs {name}: {ours / results[name]['pairs_per_s']:.2f}x"
                  + (f" (goal >= {goal}x)" if goal else ""))
        if "peak_tree_rss_gb" in results.get(name, {}) and "peak_tree_rss_gb" in results.get("ours", {}):
            print(f"peak tree RSS of {name} / ours: "
                  f"{results[name]['peak_tree_rss_gb'] / results['ours']['peak_tree_rss_gb']:.2f}x")
    if results.get("ours", {}).get("tokens_per_s") and results.get("ours-one-pair", {}).get("tokens_per_s"):
        packed, unpacked = results["ours"], results["ours-one-pair"]
        print(f"tokens: packed {packed['tokens_per_epoch']} vs one pair per sequence {unpacked['tokens_per_epoch']} "
              f"({unpacked['tokens_per_epoch'] / packed['tokens_per_epoch']:.2f}x fewer); tokens/s packed / unpacked "
              f"{packed['tokens_per_s'] / unpacked['tokens_per_s']:.2f} (goal >= 0.8)")
    return results


if __name__ == "__main__":
    main()
