"""CLI: ``judge ratings|rankings`` — AI feedback from any OpenAI-compatible judge, or a local model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sparse_feedback.backends import BACKENDS
from sparse_feedback.device import DEVICES
from sparse_feedback.errors import EXIT_BAD_INPUT


def register(sub: argparse._SubParsersAction) -> None:
    j = sub.add_parser("judge", help="collect ratings or both-order rankings from an LLM judge")
    jsub = j.add_subparsers(dest="protocol", required=True)
    for name, tasks in (("ratings", "instruction,input,response"),
                        ("rankings", "instruction,input,response1,response2")):
        p = jsub.add_parser(name, help=f"judge {name} tasks ({tasks})")
        p.add_argument("--input", required=True, help=f"{name} tasks ({tasks}) in any supported format")
        p.add_argument("--output", required=True, help="feedback CSV; failed tasks go to OUT.failed.csv")
        p.add_argument("--model", required=True, help="judge model name (local backend: e.g. smollm2-135m)")
        p.add_argument("--backend", choices=BACKENDS, default="openai",
                       help="openai: any OpenAI-compatible server; transformers / vllm: a local model (default openai)")
        p.add_argument("--device", choices=DEVICES, default="auto",
                       help="local backends: auto = CUDA (bf16 where supported) when present, else CPU (default auto)")
        p.add_argument("--base-url", help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL or api.openai.com)")
        p.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                       help="environment variable holding the API key (default OPENAI_API_KEY)")
        p.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
        p.add_argument("--max-retries", type=int, default=4, help="retries per question (default 4)")
        p.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
        p.add_argument("--backoff", type=float, default=1.0, help="first retry wait in seconds, doubling (default 1)")
        p.add_argument("--max-backoff", type=float, default=60.0, help="longest retry wait in seconds (default 60)")
        p.add_argument("--temperature", type=float, default=0.0)
        p.add_argument("--max-tokens", type=int, default=32, help="answer length limit (0: none; default 32)")
        p.add_argument("--cache", help="answer cache (default: judge_cache.db under the data home)")
        p.add_argument("--prompt-template", metavar="FILE", help=f"replace the packaged {name} prompt")
        p.add_argument("--format", choices=("csv", "seed"), default="csv",
                       help="csv: header and extra columns; seed: the original headerless layout")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.set_defaults(func=_judge)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _backend(args):
    from sparse_feedback.judge import judge_backend

    return judge_backend(args.model, args.backend, args.base_url, args.api_key_env,
                         hint=" (or name another with --api-key-env)", timeout=args.timeout, device=args.device,
                         temperature=args.temperature, max_tokens=args.max_tokens or None)


def failed_path(output) -> Path:
    """``out.csv`` → ``out.failed.csv``."""
    output = Path(output)
    return output.with_name(output.stem + ".failed.csv")


def _judge(args) -> int:
    from sparse_feedback.formats import read_ranking_tasks, read_rating_tasks, write_table
    from sparse_feedback.judge.cache import AnswerCache
    from sparse_feedback.judge.engine import JudgeAborted, JudgeConfig, judge
    from sparse_feedback.judge.protocols import protocol

    if args.concurrency < 1 or args.max_retries < 0:
        return _error("--concurrency must be at least 1 and --max-retries at least 0")
    read = read_rating_tasks if args.protocol == "ratings" else read_ranking_tasks
    tasks = read(args.input)
    proto = protocol(args.protocol, args.prompt_template)
    try:
        backend = _backend(args)
    except LookupError as err:
        return _error(str(err))
    config = JudgeConfig(args.concurrency, args.max_retries, args.backoff, args.max_backoff)
    with AnswerCache(args.cache) as cache:
        try:
            result = judge(args.protocol, tasks, backend, cache, proto, config,
                           show_progress=False if args.no_progress else None)
        except JudgeAborted as err:
            return _error(f"the judge refused every request ({err}); answers so far are cached in {cache.path}")
    write_table(result.feedback(seed=args.format == "seed"), args.output, fmt=args.format)
    failed = failed_path(args.output)
    if result.stats.failed:
        write_table(result.failed(), failed, fmt="csv")
    elif failed.exists():
        failed.unlink()  # a stale list from an earlier run would be misleading
    print(result.summary())
    print(f"wrote {args.output}" + (f"; failed tasks in {failed}" if result.stats.failed else ""))
    return 0 if result.stats.failed == 0 else 1
