"""The whole study in one command: sample → judge (ratings, both-order rankings) → consistency → train a
ratings RM and a rankings RM → best-of-n with each → both win-rates of both against a reference → report.

Every stage writes its artefacts into the run directory and is skipped when they exist, so an interrupted
run resumes where it stopped (generation and judging also resume inside a stage). The default config
(package data ``data/pipeline_demo.yaml``) runs offline on a CPU in minutes with SmolLM2-135M.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sparse_feedback import formats
from sparse_feedback.errors import InputError
from sparse_feedback.pipeline import stages
from sparse_feedback.pipeline.config import PipelineConfig, load_config, package_file
from sparse_feedback.progress import ProgressCallback

PROTOCOLS = ("ratings", "rankings")


def _instructions_path(config: PipelineConfig, base: Path | None) -> Path:
    name = Path(config.instructions)
    for candidate in ((base / name) if base else None, name, package_file(str(name))):
        if candidate is not None and candidate.exists():
            return candidate
    raise InputError(name, "instructions file not found")


@dataclass
class Run:
    """A run directory and its config; ``stage`` runs a step unless its outputs already exist."""

    dir: Path
    config: PipelineConfig
    callback: ProgressCallback | None = None
    log: Callable[[str], None] = print
    timings: dict = field(default_factory=dict)
    config_dir: Path | None = None

    def path(self, name: str) -> Path:
        return self.dir / name

    def stage(self, name: str, outputs: list[str], work: Callable[[], object]) -> None:
        if all(self.path(o).exists() for o in outputs):
            self.log(f"[{name}] done already ({', '.join(outputs)})")
            return
        self.log(f"[{name}] ...")
        started = time.perf_counter()
        work()
        self.timings[name] = round(time.perf_counter() - started, 1)
        self.log(f"[{name}] finished in {self.timings[name]} s")


def _split(run: Run) -> None:
    frame = formats.read_instructions(_instructions_path(run.config, run.config_dir))
    n_train, n_held = int(run.config.train_instructions), int(run.config.heldout_instructions)
    if len(frame) < n_train + n_held:
        raise InputError(run.config.instructions, f"{len(frame)} instructions, the config asks for "
                         f"{n_train} + {n_held}")
    formats.write_table(frame.iloc[n_train:n_train + n_held], run.path("instructions_heldout.json"))
    formats.write_table(frame.iloc[:n_train], run.path("instructions_train.json"))


def _sample(run: Run, instructions: str, output: str, n: int) -> None:
    stages.sample(formats.read_instructions(run.path(instructions)), run.config.policy, n, run.path(output),
                  callback=run.callback, device=run.config.stage_device("policy"))


def _feedback(run: Run) -> None:
    stages.judge(formats.read_generation(run.path("generation.json")), run.config.judge,
                 run.path("judge_cache.db"), run.path("feedback_ratings.csv"), run.path("feedback_rankings.csv"),
                 run.callback, run.config.stage_device("judge"))


def _consistency(run: Run) -> None:
    stages.consistency(formats.read_rating_feedback(run.path("feedback_ratings.csv")),
                       formats.read_ranking_feedback(run.path("feedback_rankings.csv")), run.path("consistency.json"))


def _train(run: Run, protocol: str) -> None:
    other = "rankings" if protocol == "ratings" else "ratings"
    stages.train(protocol, run.path(f"feedback_{protocol}.csv"), run.path(f"feedback_{other}.csv"),
                 run.path(f"rm_{protocol}"),
                 {**run.config.reward, "device": run.config.stage_device("reward")}, run.callback)


def _reference(run: Run) -> None:
    ref = run.config.reference
    if ref != "greedy":
        path = Path(ref) if Path(ref).is_absolute() or run.config_dir is None else run.config_dir / ref
        formats.write_table(formats.read_model_outputs(path), run.path("reference.json"))
        return
    stages.greedy_reference(formats.read_instructions(run.path("instructions_heldout.json")), run.config.policy,
                            run.path("reference_generation.json"), run.path("reference.json"), run.callback,
                            device=run.config.stage_device("policy"))


def _rerank(run: Run, protocol: str) -> None:
    stages.rerank(formats.read_generation(run.path("candidates.json")), run.path(f"rm_{protocol}"),
                  run.path(f"best_of_n_{protocol}_rm.json"), f"{protocol}_rm", run.callback,
                  device=run.config.stage_device("reward"))


def _evaluate(run: Run, protocol: str) -> None:
    with stages.open_judge(run.config.judge, run.path("judge_cache.db"), run.callback,
                           run.config.stage_device("judge")) as engine:
        stages.evaluate(formats.read_model_outputs(run.path("reference.json")),
                        formats.read_model_outputs(run.path(f"best_of_n_{protocol}_rm.json")), engine,
                        run.path(f"eval_{protocol}_rm"))


def _rm_metrics(run: Run, protocol: str) -> dict:
    path = run.path(f"rm_{protocol}") / "eval_results.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def collect_results(run: Run) -> dict:
    """``results.json``: consistency, each RM's eval metrics, and both win-rates of each RM's best-of-n."""
    cons = json.loads(run.path("consistency.json").read_text("utf-8"))
    config = run.config
    results = {
        "consistency": {"percent": cons["consistency"], "pairs": cons["n_pairs"], "confusion": cons["confusion"]},
        "reward_models": {p: _rm_metrics(run, p) for p in PROTOCOLS},
        "win_rates": {f"{p}_rm": json.loads((run.path(f"eval_{p}_rm") / "winrates.json").read_text("utf-8"))
                      for p in PROTOCOLS},
        "best_of_n": int(config.best_of_n.n),
        "reference": config.reference,
        "models": {"policy": config.policy.model, "judge": config.judge.model, "reward": config.reward["model"]},
        "instructions": {"train": int(config.train_instructions), "heldout": int(config.heldout_instructions)},
    }
    old = run.path("results.json")
    timings = json.loads(old.read_text("utf-8")).get("timings_s", {}) if old.exists() else {}
    results["timings_s"] = {**timings, **run.timings}
    return results


def run_pipeline(output_dir, config: PipelineConfig | None = None, callback: ProgressCallback | None = None,
                 log: Callable[[str], None] = print, config_dir: Path | None = None) -> dict:
    """Run (or resume) every stage in ``output_dir``; returns and writes ``results.json`` and ``report.html``."""
    run = Run(Path(output_dir), config or load_config(), callback, log, config_dir=config_dir)
    formats.claim_dir(run.dir, "pipeline run")
    formats.write_json(run.config.to_dict(), run.path("config.json"))
    policy_n, best_n = int(run.config.policy.n), int(run.config.best_of_n.n)
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
    stages.report(results, run.path("report.html"), run.dir)
    return results
