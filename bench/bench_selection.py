"""Does a queue strategy save labels? The budget simulation of ``simulate-budget`` on the synthetic set (a known
true preference) and the paper's shipped sample (its LLM labels as the oracle), then one full LoRA reward model per
strategy at one budget to check that the cheap head's verdict holds for a real reward model.

Prints the per-budget table, the ratio table (labels each strategy needs to come within 1 point of the full-data
accuracy, as a ratio to random, with a bootstrap interval), the LoRA check, the wall time of each phase and the
load average. Target: <= 15 minutes from a clean clone on a 2-core CPU (without ``--lora``: each LoRA run takes
minutes on a CPU).

    python bench/bench_selection.py [--seeds 20] [--synthetic-seeds 50] [--features model|hashed] [--no-cache]
                                    [--lora [--lora-budget 0.4] [--lora-epochs 1] [--lora-seeds 0,1,2]]
                                    [--output DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sparse_feedback.study.budget import format_tables, load_set, tables, write_outputs  # noqa: E402
from sparse_feedback.study.simulate import (  # noqa: E402
    BUDGETS, STRATEGIES, pair_differences, draws, fit_bradley_terry, pairwise_accuracy, project_features, simulate,
)


def load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def pair_texts(data, pairs: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Ranking feedback rows (``instruction, input, output1, output2, feedback``) for the reward trainer."""
    rows = []
    for rec, label in zip(pairs.itertuples(index=False), labels):
        i, x, a = data.texts[(rec.item, rec.index1)]
        b = data.texts[(rec.item, rec.index2)][2]
        rows.append((i, x, a, b, label))
    return pd.DataFrame(rows, columns=["instruction", "input", "output1", "output2", "feedback"])


def lora_check(data, budget: float, seed: int, workdir: Path, epochs: float, max_length: int) -> pd.DataFrame:
    """Per strategy, one draw at ``budget`` (the seed's held-out split): the head's held-out accuracy and a LoRA
    RM's trained on the same labels and scored on the same held-out pairs."""
    from sparse_feedback.reward.config import RewardConfig
    from sparse_feedback.reward.scoring import load_reward_model
    from sparse_feedback.reward.train import train

    z = project_features(data.features)
    rows = []
    for d in draws(data, budgets=(budget,), seeds=(seed,)):
        decided = d.drawn & (d.pool["label"] != "equal").to_numpy()
        chosen = d.pool[decided]
        w = fit_bradley_terry(pair_differences(data, z, chosen), (chosen["label"] == "(a)").to_numpy())
        head = pairwise_accuracy(w, pair_differences(data, z, d.test), (d.test["truth"] == "(a)").to_numpy())
        run = workdir / f"lora-{d.strategy}-{seed}"
        train_file, eval_file = run.with_suffix(".train.csv"), run.with_suffix(".eval.csv")
        pair_texts(data, chosen, chosen["label"]).to_csv(train_file, index=False)
        pair_texts(data, d.test, d.test["truth"]).to_csv(eval_file, index=False)
        started = time.perf_counter()
        train(RewardConfig(protocol="rankings", train=str(train_file), eval=str(eval_file), output_dir=str(run),
                           epochs=epochs, batch_size=4, seed=seed, device="cpu", max_length=max_length))
        rm = load_reward_model(run, device="cpu")
        test = pair_texts(data, d.test, d.test["truth"])
        s1 = rm.score(test["instruction"], test["input"], test["output1"])
        s2 = rm.score(test["instruction"], test["input"], test["output2"])
        first = (test["feedback"] == "(a)").to_numpy()
        lora = float(100 * np.mean(np.where(s1 == s2, 0.5, (s1 > s2) == first)))
        rows.append(dict(seed=seed, strategy=d.strategy, labels=int(decided.sum()), head_accuracy=head, lora_accuracy=lora,
                         seconds=time.perf_counter() - started))
        print(f"  seed {seed}, LoRA {d.strategy}: {int(decided.sum())} decided labels, head {head:.1f} %, LoRA {lora:.1f} % "
              f"({rows[-1]['seconds']:.0f} s, load {load()})", flush=True)
    return pd.DataFrame(rows)


def lora_verdict(check: pd.DataFrame) -> str:
    """Whether the head and the LoRA RM order the draws (and the strategies) alike: Spearman's rank correlation
    over every draw, and over the strategies' mean accuracies across seeds."""
    means = check.groupby("strategy", sort=False)[["labels", "head_accuracy", "lora_accuracy"]].mean()
    lines = ["per strategy, mean over seeds:", means.round(1).to_string()]
    per_draw = check["head_accuracy"].corr(check["lora_accuracy"], method="spearman")
    per_strategy = means["head_accuracy"].corr(means["lora_accuracy"], method="spearman")
    lines.append(f"best by head: {means['head_accuracy'].idxmax()}, by LoRA: {means['lora_accuracy'].idxmax()}; "
                 f"rank correlation over {len(check)} draws {per_draw:.2f}, over the {len(means)} strategies' means "
                 f"{per_strategy:.2f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds on the paper sample")
    parser.add_argument("--synthetic-seeds", type=int, default=50, help="seeds on the synthetic set")
    parser.add_argument("--features", choices=("model", "hashed"), default="model")
    parser.add_argument("--no-cache", action="store_true", help="recompute the model features (a clean clone)")
    parser.add_argument("--lora-budget", type=float, default=0.4)
    parser.add_argument("--lora-epochs", type=float, default=1.0)
    parser.add_argument("--lora-max-length", type=int, default=256, help="tokens per prompt + response (the "
                        "response's end is kept): the tiny scale that fits this CPU")
    parser.add_argument("--lora", action="store_true", help="also the LoRA check (minutes per strategy on a CPU)")
    parser.add_argument("--lora-seeds", default="0", help="comma-separated seeds of the LoRA check: one draw (and "
                        "held-out split) per seed and strategy; the rank correlation is taken over all of them")
    parser.add_argument("--output", default=None, help="where the tables and plot go (default: a temp dir)")
    args = parser.parse_args()
    output = Path(args.output or tempfile.mkdtemp(prefix="bench_selection_"))
    t0 = time.perf_counter()
    print(f"load average at start: {load()}", flush=True)

    started = time.perf_counter()
    paper = load_set("paper", features=args.features, cache=not args.no_cache)
    feature_s = time.perf_counter() - started
    print(f"paper sample: {len(paper.rows)} responses, {len(paper.pairs)} pairs; {args.features} features "
          f"{paper.features.shape[1]}-d in {feature_s:.1f} s (computed once per response; load {load()})", flush=True)

    started = time.perf_counter()
    results = pd.concat([simulate(load_set("synthetic"), seeds=range(args.synthetic_seeds)),
                         simulate(paper, seeds=range(args.seeds))], ignore_index=True)
    sweep_s = time.perf_counter() - started
    summary, ratio = tables(results)
    print(f"sweep: {len(results)} draws ({len(STRATEGIES)} strategies x {len(BUDGETS)} budgets; "
          f"{args.synthetic_seeds} synthetic and {args.seeds} paper seeds) in {sweep_s:.1f} s\n", flush=True)
    print(format_tables(summary, ratio), flush=True)
    written = write_outputs(results, summary, ratio, output)
    print("\n" + "\n".join(f"wrote {name}: {path}" for name, path in written.items()), flush=True)

    best = ratio[ratio["strategy"] != "random"].sort_values("ratio_to_random")
    for name, part in best.groupby("dataset", sort=False):
        top = part.iloc[0]
        if top["ratio_high"] <= 0.67:
            verdict = "reaches the 0.67x goal"
        elif top["ratio_to_random"] <= 0.67:
            verdict = "below 0.67x as a point estimate, but its interval reaches " + (
                "1: no saving shown" if top["ratio_high"] >= 1 else f"{top['ratio_high']:.2f}: the goal is not shown")
        else:
            verdict = "does not reach the 0.67x goal" + (" (nor a saving shown)" if top["ratio_high"] >= 1 else "")
        print(f"{name}: best strategy {top['strategy']} at {top['ratio_to_random']:.2f}x random's labels "
              f"(95 % {top['ratio_low']:.2f}-{top['ratio_high']:.2f}); {verdict}")

    if args.lora:
        seeds = [int(v) for v in args.lora_seeds.split(",")]
        print(f"\nLoRA check on the paper sample at {args.lora_budget:.0%} (seeds {args.lora_seeds}, SmolLM2-135M + "
              f"LoRA r=32, {args.lora_epochs:g} epoch(s), {args.lora_max_length} tokens, CPU):", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench_selection_lora_") as workdir:
            check = pd.concat([lora_check(paper, args.lora_budget, seed, Path(workdir), args.lora_epochs,
                                          args.lora_max_length) for seed in seeds], ignore_index=True)
        check.to_csv(output / "lora_check.csv", index=False)
        print(check.round(2).to_string(index=False))
        print(lora_verdict(check))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
