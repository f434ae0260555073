"""CLI: ``generate``: n samples per instruction into the generation JSON ({instruction, input, responses})."""

from __future__ import annotations

import argparse
import sys

from sparse_feedback import config as cli_config
from sparse_feedback.errors import EXIT_BAD_INPUT
from sparse_feedback.generate.config import GenerateConfig, SamplingConfig, add_sampling_arguments


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="sample n responses per instruction from a policy model")
    cli_config.add_arguments(p, GenerateConfig)
    add_sampling_arguments(p)
    p.set_defaults(func=_generate)


def sampling_config(args, n: int | None = None) -> SamplingConfig:
    try:
        return SamplingConfig.from_args(args, **({"n": n} if n else {}))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None


def _generate(args) -> int:
    from sparse_feedback.backends import GenerationError
    from sparse_feedback.formats import check_output, read_instructions
    from sparse_feedback.generate import generate, make_backend
    from sparse_feedback.generate.run import sidecar_path

    config = sampling_config(args)
    run = cli_config.from_args(GenerateConfig, args)
    check_output(run.output), check_output(sidecar_path(run.output))  # before any model load or request
    instructions = read_instructions(run.instructions)
    if run.limit:
        instructions = instructions.head(run.limit)
    try:
        backend = make_backend(run.backend, run.model, **run.backend_options())
    except LookupError as err:  # a remote server and no key in api_key_env
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        records = generate(instructions, backend, config, run.output, model=run.model)
    except GenerationError as err:
        print(f"error: {err}\nfinished instructions are kept in {sidecar_path(run.output)}; rerun to continue",
              file=sys.stderr)
        return 1
    print(f"wrote {len(records)} instructions x {config.n} responses to {run.output}")
    return 0
