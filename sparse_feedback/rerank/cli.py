"""CLI: ``rerank``: best-of-n outputs of a generation file, chosen by a trained reward model."""

from __future__ import annotations

import argparse

from sparse_feedback.reward.cli import add_device_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rerank", help="pick each instruction's best candidate with a reward model")
    p.add_argument("--rm", required=True, help="trained reward-model directory (from `train ratings|rankings`) or a "
                   "Hub model repo OWNER/NAME (from `train --push-to-hub`)")
    p.add_argument("--candidates", required=True, help="generation JSON: {instruction, input, responses}")
    p.add_argument("--output", required=True, help="AlpacaEval-format JSON; OUT.scores.json gets every score")
    p.add_argument("--generator", help="name written in each record (default: <policy>-best-of-<n>-<rm dir>)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="candidates per forward pass (default: 16 on the CPU, 512 on a GPU)")
    add_device_argument(p)
    p.add_argument("--alpaca-eval-compatible", action="store_true",
                   help="fold each non-empty input into its instruction (AlpacaEval shows and matches the "
                        "instruction only); the input key is kept, and `evaluate` reads either form")
    p.set_defaults(func=_rerank)


def _rerank(args) -> int:
    from pathlib import Path

    from sparse_feedback.formats import check_output, read_generation
    from sparse_feedback.rerank import default_generator, rerank, scores_path
    from sparse_feedback.reward import load_reward_model

    check_output(args.output), check_output(scores_path(args.output))  # before the model is loaded
    generation = read_generation(args.candidates)
    rm = load_reward_model(args.rm, device=args.device)
    generator = args.generator or default_generator(generation, Path(args.rm).resolve().name)
    summary = rerank(generation, rm, args.output, generator, batch_size=args.batch_size,
                     alpaca_eval_compatible=args.alpaca_eval_compatible)
    print(f"reranked {summary['candidates']} candidates of {summary['instructions']} instructions "
          f"({summary['candidates_per_second']:.1f} candidates/s); wrote {args.output} and {scores_path(args.output)}")
    return 0
