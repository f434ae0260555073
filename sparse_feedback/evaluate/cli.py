"""CLI: ``evaluate``: both win-rates of a candidate's outputs against a reference, from an LLM judge."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sparse_feedback.backends import BACKENDS
from sparse_feedback.device import DEVICES
from sparse_feedback.errors import EXIT_BAD_INPUT
from sparse_feedback.evaluate.summary import format_result


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="ratings and rankings win-rates of a candidate against a reference")
    p.add_argument("--reference", required=True, help="AlpacaEval-format outputs (e.g. davinci003.json)")
    p.add_argument("--candidate", required=True, help="AlpacaEval-format outputs (e.g. from `rerank`)")
    p.add_argument("--judge-model", required=True, help="served model name, or a local model for --backend transformers")
    p.add_argument("--backend", choices=BACKENDS, default="openai")
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="local judge backends: auto = CUDA (bf16 where supported) when present, else CPU")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL or api.openai.com)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR")
    p.add_argument("--exclude-dataset", action="append", default=[], metavar="NAME",
                   help="leave out instructions of this dataset (repeatable), e.g. selfinstruct")
    p.add_argument("--output-dir", help="tasks, feedback and winrates.json (default: CANDIDATE's name + .eval/)")
    p.add_argument("--cache", help="judge answer cache (default: judge_cache.db under the data home)")
    p.add_argument("--calibrate", action="store_true",
                   help="for a small local judge: ratings binned by expected rating, rankings from both orders' "
                        "probabilities (see sparse_feedback/evaluate/calibrate.py)")
    p.add_argument("--batch", action="store_true",
                   help="judge through the Batch API of --base-url (about half the price, up to 24 h; resumable)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_evaluate)


def default_output_dir(candidate) -> Path:
    candidate = Path(candidate)
    return candidate.with_name(candidate.stem + ".eval")


def _evaluate(args) -> int:
    import json

    from sparse_feedback.errors import InputError
    from sparse_feedback.evaluate import evaluate, matched_outputs
    from sparse_feedback.evaluate.judging import EngineJudge
    from sparse_feedback.judge import judge_backend
    from sparse_feedback.evaluate.run import EVAL_KIND
    from sparse_feedback.formats import check_output, read_model_outputs
    from sparse_feedback.judge import JudgeAborted
    from sparse_feedback.judge.cache import default_cache_path

    out = check_output(args.output_dir or default_output_dir(args.candidate), EVAL_KIND)
    check_output(args.cache or default_cache_path())  # everything written is checked before any request
    pairs = matched_outputs(read_model_outputs(args.reference), read_model_outputs(args.candidate),
                            args.exclude_dataset)
    if pairs.empty:
        raise InputError(args.candidate, f"no instruction in common with {args.reference}"
                         + (f" outside {', '.join(args.exclude_dataset)}" if args.exclude_dataset else ""))
    if args.batch and args.backend != "openai":  # before a local judge is loaded
        print("error: --batch needs an OpenAI-compatible server (--backend openai)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        backend = judge_backend(args.judge_model, args.backend, args.base_url, args.api_key_env, device=args.device)
    except LookupError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    with EngineJudge(backend, args.cache, calibrate=args.calibrate, batch=args.batch) as judge:
        try:
            result = evaluate(pairs, judge, out)
        except JudgeAborted as err:
            print(f"error: the judge refused ({err}); answers so far are cached", file=sys.stderr)
            return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(result))
    else:
        print("\n".join(judge.summaries), file=sys.stderr)
        print(f"{len(pairs)} instructions judged against {args.reference}")
        print(format_result(result))
        print(f"wrote {out}/winrates.json")
    return 0
