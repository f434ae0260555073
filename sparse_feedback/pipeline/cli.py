"""CLI: ``pipeline``: the whole study (sample, judge, consistency, two RMs, best-of-n, both win-rates, report)."""

from __future__ import annotations

import argparse

from sparse_feedback.device import DEVICES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pipeline", help="run (or resume) the whole study into one directory")
    p.add_argument("--output-dir", required=True, help="run directory; finished stages there are skipped")
    p.add_argument("--config", help="YAML overriding the demo config (or a packaged one: pipeline_tiny.yaml)")
    p.add_argument("--device", choices=DEVICES, help="local models' device for every stage, overriding the "
                   "config's: auto (a CUDA GPU where there is one, else the CPU), cuda or cpu")
    p.set_defaults(func=_pipeline)


def _pipeline(args) -> int:
    from pathlib import Path

    from sparse_feedback.evaluate.summary import format_result
    from sparse_feedback.pipeline import load_config, run_pipeline

    config = load_config(args.config)
    if args.device:
        from sparse_feedback.pipeline.config import check_devices

        config.device = args.device
        config.policy.device = config.judge.device = None
        config.reward.pop("device", None)
        check_devices(config, "--device")
    config_dir = Path(args.config).resolve().parent if args.config and Path(args.config).exists() else None
    results = run_pipeline(args.output_dir, config, config_dir=config_dir)
    cons = results["consistency"]
    print(f"consistency {cons['percent']:.2f} % over {cons['pairs']} pairs")
    for rm, result in results["win_rates"].items():
        print(f"best-of-{results['best_of_n']} by the {rm.replace('_rm', '')} RM vs the reference:")
        print(format_result(result))
    print(f"wrote {args.output_dir}/results.json and {args.output_dir}/report.html")
    return 0
