"""CLI: ``judge ratings|rankings`` — AI feedback from any OpenAI-compatible judge, or a local model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sparse_feedback.backends import BACKENDS
from sparse_feedback.device import DEVICES
from sparse_feedback.errors import EXIT_BAD_INPUT, InputError


def register(sub: argparse._SubParsersAction) -> None:
    from sparse_feedback.config import add_arguments
    from sparse_feedback.judge.batch import BatchOptions
    from sparse_feedback.judge.config import JudgeConfig

    j = sub.add_parser("judge", help="collect ratings or both-order rankings from an LLM judge")
    jsub = j.add_subparsers(dest="protocol", required=True)
    b = jsub.add_parser("batches", help="list the Batch API runs of an answer cache, or cancel one")
    b.add_argument("--cache", help="answer cache (default: judge_cache.db under the data home)")
    b.add_argument("--cancel", metavar="BATCH_ID", help="cancel this batch (what finished is kept)")
    b.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                   help="environment variable holding the API key (default OPENAI_API_KEY)")
    b.set_defaults(func=_batches)
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
        add_arguments(p, JudgeConfig)
        p.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
        p.add_argument("--temperature", type=float, default=0.0)
        p.add_argument("--max-tokens", type=int, default=32, help="answer length limit (0: none; default 32)")
        p.add_argument("--cache", help="answer cache (default: judge_cache.db under the data home)")
        p.add_argument("--prompt-template", metavar="FILE", help=f"replace the packaged {name} prompt")
        p.add_argument("--format", choices=("csv", "seed"), default="csv",
                       help="csv: header and extra columns; seed: the original headerless layout")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.add_argument("--batch", action="store_true",
                       help="send what the cache lacks through the Batch API (about half the price, up to 24 h); "
                            "a rerun resumes the same batch")
        add_arguments(p, BatchOptions)
        p.add_argument("--write-batch", metavar="FILE", help="write the Batch API JSONL of what the cache lacks to "
                                                             "FILE and stop (e.g. for vLLM's run_batch)")
        p.add_argument("--read-batch", metavar="FILE", help="read a batch output JSONL (OpenAI's or vLLM's) into "
                                                            "the cache, then write the feedback; sends nothing")
        p.add_argument("--dry-run", action="store_true", help="print tasks, cached tasks, requests, tokens and cost; "
                                                              "send nothing")
        p.add_argument("--price-in", type=float, metavar="USD", help="dollars per million prompt tokens")
        p.add_argument("--price-out", type=float, metavar="USD", help="dollars per million completion tokens")
        p.add_argument("--prices", metavar="FILE", help="prices file (default: judge_prices.json under the data "
                                                        "home, else the packaged list)")
        p.add_argument("--max-cost", type=float, metavar="USD",
                       help="stop sending before the estimated cost would pass this; answers so far are kept")
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


def _batches(args) -> int:
    import os

    from sparse_feedback.judge.batch import cancel_batch, list_batches
    from sparse_feedback.judge.cache import default_cache_path

    cache = args.cache or default_cache_path()
    if args.cancel:
        if not Path(cache).is_file():  # nothing to cancel: no request, and no empty ledger left behind
            raise InputError(cache, f"no answer cache here, so no batch {args.cancel} to cancel")
        try:
            status = cancel_batch(cache, args.cancel, os.environ.get(args.api_key_env, "").strip() or None)
        except LookupError as err:
            return _error(str(err).strip("'\""))
        print(f"batch {args.cancel}: {status}; rerun the judge to read what finished")
        return 0
    rows = list_batches(cache) if Path(cache).exists() else []
    if not rows:
        print(f"no batches in {cache}")
    for row in rows:
        print(f"{row['batch_id'] or '(not created)':<28} {row['status']:<11} {row['completed']}/{row['total']} "
              f"done, {row['failed']} failed  {row['model']} at {row['base_url']}"
              + ("" if row["ingested"] else "  (open: a rerun of the judge waits for it)"))
    return 0


def _prices(args, model: str):
    from sparse_feedback.judge.costs import load_prices

    return load_prices(model, args.prices, args.price_in, args.price_out)


def check_outputs(args) -> None:
    """Everything the judge command will write, refused before any request, model load or write: the feedback,
    its failed list, the batch file and the answer cache."""
    from sparse_feedback.formats import check_output
    from sparse_feedback.judge.cache import default_cache_path

    check_output(args.output), check_output(failed_path(args.output)), check_output(args.cache or default_cache_path())
    if args.write_batch:
        check_output(args.write_batch)
    if args.read_batch and not Path(args.read_batch).is_file():
        raise InputError(args.read_batch, "batch output file not found")


def _judge(args) -> int:
    from sparse_feedback.config import from_args
    from sparse_feedback.formats import read_ranking_tasks, read_rating_tasks, write_table
    from sparse_feedback.judge.batch import BatchOptions, judge_batch, read_batch_file, write_batch_file
    from sparse_feedback.judge.batch_errors import BatchAPIError
    from sparse_feedback.judge.cache import AnswerCache
    from sparse_feedback.judge.costs import Budget, estimate
    from sparse_feedback.judge.config import JudgeConfig
    from sparse_feedback.judge.engine import JudgeAborted, judge
    from sparse_feedback.judge.protocols import protocol

    if args.concurrency < 1 or args.max_retries < 0:
        return _error("--concurrency must be at least 1 and --max-retries at least 0")
    if args.batch and args.backend != "openai":
        return _error("--batch needs an OpenAI-compatible server (--backend openai)")
    check_outputs(args)
    read = read_rating_tasks if args.protocol == "ratings" else read_ranking_tasks
    tasks = read(args.input)
    proto = protocol(args.protocol, args.prompt_template)
    prices = _prices(args, args.model)
    config = from_args(JudgeConfig, args)
    try:
        backend = _backend(args)
    except LookupError as err:
        return _error(str(err))
    with AnswerCache(args.cache) as cache:
        if args.dry_run:
            plan = estimate(args.protocol, tasks, backend, cache, proto, prices, args.batch)
            print("\n".join(plan.lines(args.model)))
            return 0
        if args.write_batch:
            n = write_batch_file(args.protocol, tasks, backend, cache, proto, args.write_batch)
            print(f"wrote {n} requests to {args.write_batch}")
            return 0
        try:
            if args.max_cost is not None:
                config.budget = Budget(args.max_cost, prices, args.model, backend.params.get("max_tokens"), args.batch)
            if args.read_batch:
                result = read_batch_file(args.protocol, tasks, backend, cache, proto, args.read_batch)
            elif args.batch:
                result = judge_batch(args.protocol, tasks, backend, cache, proto, config, from_args(BatchOptions, args),
                                     show_progress=False if args.no_progress else None, budget=config.budget)
            else:
                result = judge(args.protocol, tasks, backend, cache, proto, config,
                               show_progress=False if args.no_progress else None)
        except BatchAPIError as err:
            print(f"error: {err}" + ("" if err.no_api else "; what finished is cached: rerun to resume"),
                  file=sys.stderr)
            return EXIT_BAD_INPUT if err.no_api else 1
        except ValueError as err:
            return _error(str(err))
        except JudgeAborted as err:
            return _error(f"the judge refused every request ({err}); answers so far are cached in {cache.path}")
    result.stats.cost = prices.cost(result.stats.prompt_tokens, result.stats.completion_tokens, args.batch)
    failed = failed_path(args.output)
    if result.stats.failed:
        write_table(result.failed(), failed, fmt="csv")
    elif failed.exists():
        failed.unlink()  # a stale list from an earlier run would be misleading
    print(result.summary())
    if result.stats.answered == 0 and result.stats.failed:  # an empty table would replace real feedback
        kept = f"kept the existing {args.output}" if Path(args.output).exists() else f"wrote no {args.output}"
        print(f"error: no task was answered ({result.stats.failed} failed, see {failed}); {kept}", file=sys.stderr)
        return 1
    write_table(result.feedback(seed=args.format == "seed"), args.output, fmt=args.format)
    print(f"wrote {args.output}" + (f"; failed tasks in {failed}" if result.stats.failed else ""))
    return 0 if result.stats.failed == 0 else 1
