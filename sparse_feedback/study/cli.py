"""CLI of a human study: ``annotators`` (the quality table), ``exclude`` / ``include``, ``study`` (gold rate,
paired design, fast-answer threshold), ``study-link`` (crowd-platform links) and ``simulate-budget`` (does a queue
strategy save labels?)."""

from __future__ import annotations

import argparse
import getpass
import json

DB_HELP = ("SQLAlchemy URL of the store (default: $SPARSE_FEEDBACK_DB, else sparse_feedback.db under "
           "$SPARSE_FEEDBACK_HOME)")
SHOWN = ["annotator", "answers", "median_seconds", "gold_n", "gold_accuracy", "alpha_ratings_delta",
         "alpha_rankings_delta", "kappa_ratings", "kappa_rankings", "llm_ratings_within1", "llm_rankings_agree",
         "left_share", "longest_run", "consistency", "consistency_low", "consistency_high", "flags", "excluded"]


def _common(p: argparse.ArgumentParser, actor: bool = False) -> None:
    p.add_argument("--project", required=True, help="the project")
    p.add_argument("--db", help=DB_HELP)
    if actor:
        p.add_argument("--as", dest="actor", default=None, help="who makes the change, for the log (default: your "
                                                                "login name)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("annotators", help="per-annotator quality of a study: gold accuracy, agreement, judge "
                                          "agreement, position bias, straight-lining, own protocol consistency")
    _common(p)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (table, pairwise kappas, item times, each fast answer)")
    p.set_defaults(func=_annotators)

    for name, verb in (("exclude", "leave out of"), ("include", "bring back into")):
        p = sub.add_parser(name, help=f"{verb} exports, training and dashboards an annotator's answers (kept, logged)")
        _common(p, actor=True)
        p.add_argument("annotators", nargs="*", help="annotator names")
        if name == "exclude":
            p.add_argument("--below", type=float, help="also every annotator whose gold accuracy is below this "
                                                       "share (0-1)")
            p.add_argument("--reason", default="", help="why, for the log")
        p.set_defaults(func=_exclude if name == "exclude" else _include)

    p = sub.add_parser("study", help="a project's study settings: gold rate, paired design, fast-answer threshold")
    _common(p, actor=True)
    p.add_argument("--gold-every", type=int, help="one gold task in every N served (0: no gold)")
    p.add_argument("--paired", action=argparse.BooleanOptionalAction, default=None,
                   help="each annotator rates and ranks the same items (order of the protocols drawn per annotator)")
    p.add_argument("--fast-seconds", type=float, help="flag answers faster than this (0: off)")
    p.set_defaults(func=_settings)

    p = sub.add_parser("study-link", help="create (or revoke) a crowd-platform study link for a project")
    _common(p, actor=True)
    p.add_argument("--quota", type=int, default=20, help="answers per participant (gold included)")
    p.add_argument("--code", help="completion code shown when the quota is met (default: a random one)")
    p.add_argument("--redirect", default="", help="completion URL to send the participant to (e.g. Prolific's)")
    p.add_argument("--host", default="https://HOST", help="the app's address, to print the full link")
    p.add_argument("--revoke", type=int, help="revoke the link with this id instead")
    p.set_defaults(func=_link)
    _register_simulate_budget(sub)


def _store(args):
    from sparse_feedback.store import Store

    return Store(args.db)


def _actor(args) -> str:
    return args.actor or getpass.getuser() or "cli"


def _annotators(args) -> int:
    import pandas as pd

    from sparse_feedback.study.quality import project_quality

    quality = project_quality(_store(args), args.project)
    if args.json:
        print(json.dumps(quality.to_dict(), default=str))
        return 0
    print(f"{args.project}: {quality.annotators} annotators" + (f"; judge: {quality.judge}" if quality.judge else ""))
    if quality.table.empty:
        print("no answers yet")
        return 0
    with pd.option_context("display.width", 200, "display.max_columns", None, "display.float_format", "{:.3g}".format):
        print(quality.table[SHOWN].to_string(index=False))
    if len(quality.fast):
        print(f"{len(quality.fast)} answers under the fast threshold (--json lists each: fast_answers)")
    return 0


def _exclude(args) -> int:
    from sparse_feedback.study import exclusion

    store, actor = _store(args), _actor(args)
    done = exclusion.exclude(store, args.project, actor, args.annotators, args.reason) if args.annotators else []
    if args.below is not None:
        done += exclusion.exclude_below(store, args.project, actor, args.below)
    print(f"excluded: {', '.join(done) or 'nobody new'}; {exclusion.annotators_used(store, args.project)}")
    return 0


def _include(args) -> int:
    from sparse_feedback.study import exclusion

    store = _store(args)
    done = exclusion.include(store, args.project, _actor(args), args.annotators)
    print(f"included again: {', '.join(done) or 'nobody (none was excluded)'}; "
          f"{exclusion.annotators_used(store, args.project)}")
    return 0


def _settings(args) -> int:
    settings = _store(args).set_study_settings(args.project, _actor(args), gold_every=args.gold_every,
                                               paired=args.paired, fast_seconds=args.fast_seconds)
    paired = "on" if settings.paired else "off"
    print(f"{args.project}: gold 1 in {settings.gold_every or 'none'}, paired design {paired}"
          f", fast answers under {settings.fast_seconds:g} s flagged")
    return 0


def _link(args) -> int:
    from sparse_feedback.study import links

    store = _store(args)
    if args.revoke is not None:
        store.revoke_study_link(args.project, _actor(args), args.revoke)
        print(f"study link {args.revoke} revoked")
        return 0
    made = links.create_link(store, args.project, _actor(args), args.quota, args.code, args.redirect)
    print(f"study link {made.link_id} (quota {args.quota}, completion code {made.code}); the token is shown once:")
    print(links.prolific_url(args.host, made.token))
    print(links.generic_url(args.host, made.token))
    return 0


def _fractions(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) / (100 if float(v) > 1 else 1) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"budgets are comma-separated percents, not {text!r}") from None
    if not values or any(not 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError("each budget is a percent in (0, 100]")
    return values


def _register_simulate_budget(sub: argparse._SubParsersAction) -> None:
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
