"""The whole study in one command: sample → judge (ratings, both-order rankings) → consistency → train a
ratings RM and a rankings RM → best-of-n with each → both win-rates of both against a reference → report.

Every stage writes its artefacts into the run directory and is skipped when they exist, so an interrupted
run resumes where it stopped (generation and judging also resume inside a stage). The default config
(package data ``data/pipeline_demo.yaml``) runs offline on a CPU in minutes with SmolLM2-135M.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

import pandas as pd

from sparse_feedback import formats
from sparse_feedback.errors import InputError
from sparse_feedback.progress import ProgressCallback

PROTOCOLS = ("ratings", "rankings")


def _package_file(name: str) -> Path:
    return Path(str(resources.files("sparse_feedback").joinpath("data", name)))


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config(path=None) -> dict:
    """The demo config, overridden key by key by ``path`` (YAML); a bare name means a packaged config."""
    import yaml

    config = yaml.safe_load(_package_file("pipeline_demo.yaml").read_text("utf-8"))
    if path is None:
        return config
    path = Path(path)
    if not path.exists() and _package_file(path.name).exists():
        path = _package_file(path.name)
    if not path.exists():
        raise InputError(path, "config file not found")
    try:
        override = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as err:
        raise InputError(path, f"not valid YAML ({err})") from None
    if not isinstance(override, dict):
        raise InputError(path, "expected a mapping of settings")
    return _merge(config, override)


def _instructions_path(config: dict, base: Path | None) -> Path:
    name = Path(config["instructions"])
    for candidate in ((base / name) if base else None, name, _package_file(str(name))):
        if candidate is not None and candidate.exists():
            return candidate
    raise InputError(name, "instructions file not found")


@dataclass
class Run:
    """A run directory and its config; ``stage`` runs a step unless its outputs already exist."""

    dir: Path
    config: dict
    callback: ProgressCallback | None = None
    log: Callable[[str], None] = print
    timings: dict = field(default_factory=dict)
    config_dir: Path | None = None

    def path(self, name: str) -> Path:
        return self.dir / name

    def stage(self, name: str, outputs: list[str], work: Callable[[], None]) -> None:
        if all(self.path(o).exists() for o in outputs):
            self.log(f"[{name}] done already ({', '.join(outputs)})")
            return
        self.log(f"[{name}] ...")
        started = time.perf_counter()
        work()
        self.timings[name] = round(time.perf_counter() - started, 1)
        self.log(f"[{name}] finished in {self.timings[name]} s")


# ------------------------------------------------------------------ stages

def _split(run: Run) -> None:
    frame = formats.read_instructions(_instructions_path(run.config, run.config_dir))
    n_train, n_held = int(run.config["train_instructions"]), int(run.config["heldout_instructions"])
    if len(frame) < n_train + n_held:
        raise InputError(run.config["instructions"], f"{len(frame)} instructions, the config asks for "
                         f"{n_train} + {n_held}")
    formats.write_table(frame.iloc[n_train:n_train + n_held], run.path("instructions_heldout.json"))
    formats.write_table(frame.iloc[:n_train], run.path("instructions_train.json"))


def _sample(run: Run, instructions: str, output: str, n: int, temperature: float | None = None) -> None:
    from sparse_feedback.generate import SamplingConfig, generate, make_backend

    policy = run.config["policy"]
    config = SamplingConfig(n=n, max_new_tokens=policy["max_new_tokens"],
                            temperature=policy["temperature"] if temperature is None else temperature,
                            top_p=policy["top_p"], seed=policy.get("seed", 0), batch_size=policy["batch_size"],
                            prompt_format=policy.get("prompt_format", "auto"))
    backend = make_backend(policy["backend"], policy["model"], base_url=policy.get("base_url"),
                           device=run.config.get("device", "auto"),
                           tensor_parallel_size=policy.get("tensor_parallel_size", 1))
    generate(formats.read_instructions(run.path(instructions)), backend, config, run.path(output),
             callback=run.callback, model=policy["model"])


def _judge(run: Run):
    from sparse_feedback.evaluate.judging import EngineJudge
    from sparse_feedback.judge import judge_backend

    cfg = run.config["judge"]
    backend = judge_backend(cfg["model"], cfg["backend"], cfg.get("base_url"), device=run.config.get("device", "auto"))
    calibrate = cfg.get("calibrate", "auto")  # auto: for a local judge, which scores the answer tokens
    calibrate = cfg["backend"] == "transformers" if calibrate == "auto" else bool(calibrate)
    return EngineJudge(backend, run.path("judge_cache.db"), run.callback, calibrate=calibrate)


def _feedback(run: Run) -> None:
    generation = formats.read_generation(run.path("generation.json"))
    with _judge(run) as judge:
        ratings = judge.ratings(formats.rating_tasks(generation))
        rankings = judge.rankings(formats.ranking_tasks(generation))
        if judge.calibrate:
            from sparse_feedback.evaluate.calibrate import calibrate_ratings

            ratings = calibrate_ratings(ratings)[0]
        formats.write_table(rankings, run.path("feedback_rankings.csv"))
        formats.write_table(ratings, run.path("feedback_ratings.csv"))


def _consistency(run: Run) -> None:
    from sparse_feedback.analysis import consistency

    result = consistency(formats.read_rating_feedback(run.path("feedback_ratings.csv")),
                         formats.read_ranking_feedback(run.path("feedback_rankings.csv")))
    formats.write_json(result.to_dict(), run.path("consistency.json"))


def _train(run: Run, protocol: str) -> None:
    from sparse_feedback.reward.config import RewardConfig
    from sparse_feedback.reward.train import train

    other = "rankings" if protocol == "ratings" else "ratings"
    config = RewardConfig(protocol=protocol, train=str(run.path(f"feedback_{protocol}.csv")),
                          output_dir=str(run.path(f"rm_{protocol}")),
                          cross_eval=str(run.path(f"feedback_{other}.csv")), **run.config["reward"])
    train(config, callback=run.callback)


def _reference(run: Run) -> None:
    ref = run.config["reference"]
    if ref != "greedy":
        path = Path(ref) if Path(ref).is_absolute() or run.config_dir is None else run.config_dir / ref
        formats.write_table(formats.read_model_outputs(path), run.path("reference.json"))
        return
    _sample(run, "instructions_heldout.json", "reference_generation.json", n=1, temperature=0.0)
    greedy = formats.read_generation(run.path("reference_generation.json"))
    records = [{"instruction": r.instruction, "input": r.input, "output": r.responses[0],
                "generator": f"{Path(str(run.config['policy']['model'])).name}-greedy"}
               for r in greedy.itertuples(index=False)]
    formats.write_json(records, run.path("reference.json"))


def _rerank(run: Run, protocol: str) -> None:
    from sparse_feedback.rerank import default_generator, rerank
    from sparse_feedback.reward import load_reward_model

    candidates = formats.read_generation(run.path("candidates.json"))
    rm = load_reward_model(run.path(f"rm_{protocol}"))
    rerank(candidates, rm, run.path(f"best_of_n_{protocol}_rm.json"),
           default_generator(candidates, f"{protocol}_rm"), callback=run.callback)


def _evaluate(run: Run, protocol: str) -> None:
    from sparse_feedback.evaluate import evaluate, matched_outputs

    pairs = matched_outputs(formats.read_model_outputs(run.path("reference.json")),
                            formats.read_model_outputs(run.path(f"best_of_n_{protocol}_rm.json")))
    with _judge(run) as judge:
        evaluate(pairs, judge, run.path(f"eval_{protocol}_rm"))


def _rm_metrics(run: Run, protocol: str) -> dict:
    path = run.path(f"rm_{protocol}") / "eval_results.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def collect_results(run: Run) -> dict:
    """``results.json``: consistency, each RM's eval metrics, and both win-rates of each RM's best-of-n."""
    cons = json.loads(run.path("consistency.json").read_text("utf-8"))
    results = {
        "consistency": {"percent": cons["consistency"], "pairs": cons["n_pairs"], "confusion": cons["confusion"]},
        "reward_models": {p: _rm_metrics(run, p) for p in PROTOCOLS},
        "win_rates": {f"{p}_rm": json.loads((run.path(f"eval_{p}_rm") / "winrates.json").read_text("utf-8"))
                      for p in PROTOCOLS},
        "best_of_n": int(run.config["best_of_n"]["n"]),
        "reference": run.config["reference"],
        "models": {"policy": run.config["policy"]["model"], "judge": run.config["judge"]["model"],
                   "reward": run.config["reward"]["model"]},
        "instructions": {"train": int(run.config["train_instructions"]),
                         "heldout": int(run.config["heldout_instructions"])},
    }
    old = run.path("results.json")
    timings = json.loads(old.read_text("utf-8")).get("timings_s", {}) if old.exists() else {}
    results["timings_s"] = {**timings, **run.timings}
    return results


def run_pipeline(output_dir, config: dict | None = None, callback: ProgressCallback | None = None,
                 log: Callable[[str], None] = print, config_dir: Path | None = None) -> dict:
    """Run (or resume) every stage in ``output_dir``; returns and writes ``results.json`` and ``report.html``."""
    from sparse_feedback.pipeline_report import write_report

    run = Run(Path(output_dir), config or load_config(), callback, log, config_dir=config_dir)
    formats.claim_dir(run.dir, "pipeline run")
    formats.write_json(run.config, run.path("config.json"))
    policy_n, best_n = int(run.config["policy"]["n"]), int(run.config["best_of_n"]["n"])
    run.stage("split", ["instructions_train.json", "instructions_heldout.json"], lambda: _split(run))
    run.stage("generate", ["generation.json"],
              lambda: _sample(run, "instructions_train.json", "generation.json", policy_n))
    run.stage("judge", ["feedback_ratings.csv", "feedback_rankings.csv"], lambda: _feedback(run))
    run.stage("consistency", ["consistency.json"], lambda: _consistency(run))
    for p in PROTOCOLS:
        run.stage(f"train {p} RM", [f"rm_{p}/eval_results.json"], lambda p=p: _train(run, p))
    run.stage("reference", ["reference.json"], lambda: _reference(run))
    run.stage("candidates", ["candidates.json"],
              lambda: _sample(run, "instructions_heldout.json", "candidates.json", best_n))
    for p in PROTOCOLS:
        run.stage(f"best-of-{best_n} ({p} RM)", [f"best_of_n_{p}_rm.json"], lambda p=p: _rerank(run, p))
        run.stage(f"evaluate {p} RM", [f"eval_{p}_rm/winrates.json"], lambda p=p: _evaluate(run, p))
    results = collect_results(run)
    formats.write_json(results, run.path("results.json"))
    write_report(results, run.path("report.html"), run.dir)
    return results
