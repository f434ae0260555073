"""CLI: ``simulate-budget`` (does a queue strategy save labels?)."""

from __future__ import annotations

import argparse
import json


def _fractions(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) / (100 if float(v) > 1 else 1) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"budgets are comma-separated percents, not {text!r}") from None
    if not values or any(not 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError("each budget is a percent in (0, 100]")
    return values


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("simulate-budget", help="replay each queue strategy under label budgets on a labelled set")
    s.add_argument("--set", dest="sets", action="append", choices=("synthetic", "paper", "file"),
                   help="labelled set(s): synthetic (known true preference), paper (the shipped sample, its LLM "
                        "labels as the oracle), file (--ratings and --rankings); default synthetic and paper")
    s.add_argument("--ratings", help="rating feedback file (with --set file)")
    s.add_argument("--rankings", help="ranking feedback file (with --set file)")
    s.add_argument("--seeds", type=int, default=5, help="seeds per strategy and budget (default 5)")
    s.add_argument("--budgets", type=_fractions, default="5,10,20,40,100",
                   help="percents of the pool's pairs (default 5,10,20,40,100)")
    s.add_argument("--temperature", type=float, default=3.0,
                   help="how strongly a draw follows the strategy's order: probability ~ exp(T x rank) (default 3)")
    s.add_argument("--features", choices=("model", "hashed"), default="model",
                   help="frozen response features: the backbone's last hidden state, or hashed words")
    s.add_argument("--model", default="smollm2-135m", help="backbone for --features model")
    s.add_argument("--output", help="directory for results.csv, summary.csv, ratio.csv and budget.html")
    s.add_argument("--json", action="store_true", help="print the ratio table as JSON")
    s.set_defaults(func=_simulate_budget)


def _simulate_budget(args) -> int:
    from pathlib import Path

    from sparse_feedback.errors import SettingsError
    from sparse_feedback.progress import Progress
    from sparse_feedback.study.budget import format_tables, run, tables, write_outputs

    sets = tuple(args.sets or ("synthetic", "paper"))
    if "file" in sets and not (args.ratings and args.rankings):
        raise SettingsError("--set file needs --ratings and --rankings")
    if args.seeds < 1:
        raise SettingsError("--seeds must be at least 1")
    budgets = args.budgets if isinstance(args.budgets, tuple) else _fractions(args.budgets)
    with Progress(None, "simulate", disable=args.json) as bar:
        def progress(done, total, desc):
            bar.bar.total = total
            bar.bar.set_description(desc, refresh=False)
            bar.bar.update(done - bar.bar.n)

        results = run(sets, args.seeds, budgets, args.temperature, args.features, args.model, args.ratings,
                      args.rankings, progress=progress)
    summary, ratio = tables(results)
    if args.output:
        written = write_outputs(results, summary, ratio, Path(args.output))
        if not args.json:
            print("\n".join(f"wrote {name}: {path}" for name, path in written.items()))
    if args.json:
        print(json.dumps(ratio.to_dict(orient="records")))
    else:
        print(format_tables(summary, ratio))
    return 0
