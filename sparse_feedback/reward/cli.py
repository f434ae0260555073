"""CLI: ``train ratings|rankings`` (a reward model per protocol) and ``score`` (add a reward column)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from sparse_feedback.reward.config import PROTOCOLS, add_arguments


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto (a CUDA GPU in bf16 where there is one, else the "
                        "CPU), cuda, cuda:N or cpu")


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train a reward model on ratings or rankings feedback (LoRA by default)",
                       description="Works as is under `accelerate launch --num_processes N -m sparse_feedback train ...`.")
    tsub = t.add_subparsers(dest="protocol", required=True)
    for protocol in PROTOCOLS:
        p = tsub.add_parser(protocol, help=f"reward model from {protocol} feedback")
        add_arguments(p)
        add_model_push_arguments(p, "also push the trained model (adapter or weights, tokenizer, model card) to "
                                    "this Hub model repo when training ends")
        p.set_defaults(func=_train)

    h = sub.add_parser("push-rm", help="push a trained reward-model folder to the Hub with its model card")
    h.add_argument("--model-dir", required=True, help="a directory written by `train`")
    add_model_push_arguments(h, "the Hub model repo to push to", required=True)
    h.set_defaults(func=_push_rm)

    s = sub.add_parser("score", help="add a reward column to a rating/ranking task or feedback file")
    s.add_argument("--model-dir", required=True, help="a directory written by `train`, or a Hub model repo "
                   "OWNER/NAME")
    s.add_argument("--input", required=True, help="rating tasks/feedback (→ reward) or ranking tasks/feedback "
                   "(→ reward1, reward2)")
    s.add_argument("--output", required=True, help="output table (.csv, .json, .jsonl, .parquet or a directory)")
    s.add_argument("--batch-size", type=int, default=None,
                   help="responses per forward pass (default: 16 on the CPU, 512 on a GPU)")
    add_device_argument(s)
    s.set_defaults(func=_score)


def add_model_push_arguments(parser: argparse.ArgumentParser, help: str, required: bool = False) -> None:
    parser.add_argument("--push-to-hub", metavar="OWNER/NAME", required=required,
                        help=help + " (token: HF_TOKEN or `hf auth login`)")
    parser.add_argument("--private", action="store_true", help="create the Hub repo private")


def _push(model_dir, args) -> None:
    from sparse_feedback.reward.hub import push_reward_model

    print(push_reward_model(model_dir, args.push_to_hub, private=args.private).line("the reward model"))


def _push_rm(args) -> int:
    _push(args.model_dir, args)
    return 0


def _train(args) -> int:
    from sparse_feedback.reward.config import RewardConfig
    from sparse_feedback.reward.runs import RESULTS_FILE, WATCHED

    config = RewardConfig.from_args(args, protocol=args.protocol)
    launched = any(k in os.environ for k in ("LOCAL_RANK", "WORLD_SIZE"))  # torchrun/accelerate: the launcher watches
    if os.environ.get(WATCHED):
        return _run_training(config)
    code = _run_training(config) if launched else _watch(config)
    finished = code == 0 and (Path(config.output_dir) / RESULTS_FILE).exists()  # not stopped part-way
    if finished and args.push_to_hub and int(os.environ.get("RANK", "0")) == 0:  # from the saved folder
        _push(config.output_dir, args)
    return code


def _run_training(config) -> int:
    from sparse_feedback.progress import progress_file
    from sparse_feedback.reward.train import train

    # progress.json beside log.jsonl, rewritten at the start and after every step (a step takes far longer than
    # the write): the run's step and total for the app's job view, and the step a killed run's report names
    results = train(config, progress_file(config.output_dir, "train", every=0))
    if results.get("stopped") or int(os.environ.get("RANK", "0")) != 0:  # one report per launch
        return 0
    print(json.dumps({k: v for k, v in results.items() if k in ("eval", "cross_protocol", "step")}, indent=1))
    print(f"saved the reward model to {config.output_dir}")
    return 0


def _score(args) -> int:
    import pandas as pd

    from sparse_feedback.formats import check_table_output, write_table
    from sparse_feedback.reward.scoring import load_reward_model, scorable_table

    check_table_output(args.output)
    table, out, columns = scorable_table(args.input)
    model = load_reward_model(args.model_dir, device=args.device)
    # both response columns in one call: a response that appears in several rows is scored once
    rewards = model.score(pd.concat([table["instruction"]] * len(columns)), pd.concat([table["input"]] * len(columns)),
                          pd.concat([table[c] for c in columns]), batch_size=args.batch_size, progress=True)
    for k, reward_column in enumerate(columns.values()):
        out[reward_column] = rewards[k * len(table):(k + 1) * len(table)]
    write_table(out, args.output)
    print(f"scored {len(table)} rows with the {model.protocol} reward model; wrote {args.output}")
    return 0


def _watch(config) -> int:
    """Train in a child process and report how it ended: a run the system kills (signal 9, most often for lack of
    memory) leaves no message of its own, so this one says so and names the step it reached."""
    import signal
    import subprocess
    import sys

    import sparse_feedback
    from sparse_feedback.errors import exit_reason
    from sparse_feedback.formats import check_output
    from sparse_feedback.reward.runs import MODEL_KIND, TRAINING_ENV, step_label, training_command

    check_output(config.output_dir, MODEL_KIND)  # refused here, before a process or a model is started
    options = {k: v for k, v in config.to_dict().items() if k not in ("protocol", "train", "output_dir", "model")}
    argv = training_command(config.protocol, config.train, config.output_dir, config.model, **options)
    # the child imports this very package, wherever the caller's working directory is
    package_root = str(Path(sparse_feedback.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    child = subprocess.Popen(argv, env={**os.environ, **TRAINING_ENV, "PYTHONPATH": path})
    forward = lambda sig, _: child.send_signal(sig)  # noqa: E731  Stop (SIGTERM) and Ctrl-C reach the trainer
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code < 0 and -code != signal.SIGINT:
        # on a line of its own: the killed run's progress bar never ended its line
        print(f"\nerror: training {exit_reason(code, step=step_label(config.output_dir))}", file=sys.stderr)
        return 128 - code
    return code
