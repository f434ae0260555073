"""CLI: ``generate``: n samples per instruction into the generation JSON ({instruction, input, responses})."""

from __future__ import annotations

import argparse
import sys

from sparse_feedback.errors import EXIT_BAD_INPUT

from sparse_feedback.generate.config import SamplingConfig

_DEFAULTS = SamplingConfig()


def add_sampling_arguments(p: argparse.ArgumentParser, n: bool = True) -> None:
    """The sampling options (also used by commands that generate on the way)."""
    if n:
        p.add_argument("--n", type=int, default=_DEFAULTS.n, help="samples per instruction (default %(default)s)")
    p.add_argument("--max-new-tokens", type=int, default=_DEFAULTS.max_new_tokens)
    p.add_argument("--temperature", type=float, default=_DEFAULTS.temperature, help="0 = greedy (needs --n 1)")
    p.add_argument("--top-p", type=float, default=_DEFAULTS.top_p)
    p.add_argument("--seed", type=int, default=_DEFAULTS.seed)
    p.add_argument("--batch-size", type=int, default=_DEFAULTS.batch_size,
                   help="instructions per forward pass (transformers) or requests in flight (openai)")
    p.add_argument("--prompt-format", choices=["auto", "alpaca", "chat"], default=_DEFAULTS.prompt_format,
                   help="auto: the tokenizer's chat template when it has one (openai backend: chat), else Alpaca")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="sample n responses per instruction from a policy model")
    p.add_argument("--instructions", required=True, help="instructions file (instruction, input[, dataset])")
    p.add_argument("--model", required=True, help="hub id, local path, alias (smollm2-135m) or served model name")
    p.add_argument("--output", required=True, help="generation JSON to write")
    p.add_argument("--backend", choices=["transformers", "openai"], default="transformers")
    p.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (openai backend)")
    p.add_argument("--max-retries", type=int, default=5,
                   help="openai backend: retries per request on 429/5xx/timeouts, with backoff (default 5)")
    p.add_argument("--limit", type=int, help="only the first N instructions")
    add_sampling_arguments(p)
    p.set_defaults(func=_generate)


def sampling_config(args, n: int | None = None) -> SamplingConfig:
    try:
        return SamplingConfig(n=n or args.n, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                              top_p=args.top_p, seed=args.seed, batch_size=args.batch_size,
                              prompt_format=args.prompt_format)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None


def _generate(args) -> int:
    from sparse_feedback.formats import check_output, read_instructions
    from sparse_feedback.generate import generate, make_backend
    from sparse_feedback.backends import GenerationError
    from sparse_feedback.generate.run import sidecar_path

    config = sampling_config(args)
    check_output(args.output), check_output(sidecar_path(args.output))  # before any model is loaded
    instructions = read_instructions(args.instructions)
    if args.limit:
        instructions = instructions.head(args.limit)
    backend = make_backend(args.backend, args.model, base_url=args.base_url, max_retries=args.max_retries)
    try:
        records = generate(instructions, backend, config, args.output, model=args.model)
    except GenerationError as err:
        print(f"error: {err}\nfinished instructions are kept in {sidecar_path(args.output)}; rerun to continue",
              file=sys.stderr)
        return 1
    print(f"wrote {len(records)} instructions x {config.n} responses to {args.output}")
    return 0
