"""Regenerate the demo project in ``assets/demo/`` with the project's own generation and judge stages.

    python assets/demo/make_demo.py [--model smollm2-135m] [--n 5]

Runs, in order (each an ordinary CLI call, so the demo is exactly what a user would get):
``generate`` (SmolLM2-135M-Instruct, offline) on ``instructions.jsonl`` → ``generation.json``;
then the local judge (``--backend transformers``, rankings asked in both orders) through the same
``EngineJudge`` the pipeline uses, calibrated for a 135M judge (``sparse_feedback.evaluate.calibrate``:
ratings by quantile, each ranking order against the judge's median preference for the first position;
raw answers and positions kept) → ``llm_ratings.csv``, ``llm_rankings.csv``. About 2 minutes
on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def run(*args: str) -> None:
    print("+ sparse-feedback", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "sparse_feedback", *args], cwd=ROOT, check=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="policy and judge model")
    parser.add_argument("--n", type=int, default=5, help="responses per instruction")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--output", default=str(HERE))
    args = parser.parse_args(argv)
    out = Path(args.output)
    with tempfile.TemporaryDirectory() as tmp:
        run("generate", "--instructions", str(HERE / "instructions.jsonl"), "--model", args.model, "--n", str(args.n),
            "--max-new-tokens", str(args.max_new_tokens), "--temperature", "0.9", "--top-p", "0.95", "--seed", "0",
            "--output", str(out / "generation.json"))
        judge_demo(out, args.model, Path(tmp) / "judge_cache.db")


def judge_demo(out: Path, model: str, cache: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from sparse_feedback import formats
    from sparse_feedback.evaluate.calibrate import calibrate_orders, calibrate_ratings
    from sparse_feedback.evaluate.judging import EngineJudge
    from sparse_feedback.judge import judge_backend

    generation = formats.read_generation(out / "generation.json")
    with EngineJudge(judge_backend(model, "transformers"), cache) as judge:
        ratings = calibrate_ratings(judge.ratings(formats.rating_tasks(generation)))[0]
        rankings = judge.rankings(formats.ranking_tasks(generation))
        rankings = calibrate_orders(rankings, judge.backend, judge.cache)
    formats.write_table(ratings, out / "llm_ratings.csv")
    formats.write_table(rankings, out / "llm_rankings.csv")
    print(f"wrote {len(ratings)} LLM ratings and {len(rankings)} LLM rankings to {out}")


if __name__ == "__main__":
    main()
