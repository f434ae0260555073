"""Regenerate ``assets/demo/best_of_n/``: two trained reward models and a finished Best-of-n job, so the app's
Best-of-n tab has something to show (and two RMs to offer) on a fresh start.

    python assets/demo/make_best_of_n_demo.py [--from-run DIR | --config YAML] [--output assets/demo/best_of_n]

Without ``--from-run`` it runs the project's own pipeline with the built-in demo config
(``python -m sparse_feedback pipeline --output-dir TMP``: SmolLM2-135M as policy, judge and RM backbone,
offline; about 5 minutes on 2 CPU cores); with it, it packages a finished run of that pipeline. It writes:

- ``rm_ratings/``, ``rm_rankings/``: what ``load_reward_model`` needs for a LoRA RM (adapter weights and
  config, ``reward_config.json``) plus ``eval_results.json``; no checkpoints and no tokenizer (it comes from
  the base model the config names). Paths of the machine that trained them become bare file names.
- ``job/``: the run's held-out instructions, candidates, reference, each RM's picks and their evaluation,
  renamed to a Best-of-n job's layout (``best_of_n_1*`` = ratings RM, ``best_of_n_2*`` = rankings RM;
  see ``sparse_feedback/jobs/best_of_n.py``); its ``settings.json`` names the RMs as ``../rm_<protocol>``,
  which the app rewrites to where it installs them.
- ``pipeline_config.json`` and ``results.json``: the run's config and figures, for provenance.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROTOCOLS = ("ratings", "rankings")  # job RM 1 and RM 2
RM_FILES = ("adapter_config.json", "adapter_model.safetensors", "reward_config.json", "eval_results.json")
MACHINE_PATHS = ("train", "output_dir", "eval", "cross_eval")  # reward_config.json keys holding run paths
JOB_FILES = {"instructions_heldout.json": "instructions.json", "candidates.json": "candidates.json",
             "reference.json": "reference.json"}
EVAL_FILES = ("winrates.json", "feedback_ratings_reference.csv", "feedback_ratings_candidate.csv",
              "feedback_rankings.csv", "rating_tasks_reference.csv", "rating_tasks_candidate.csv",
              "ranking_tasks.csv")


def run_pipeline(run_dir: Path, config: str | None) -> None:
    args = ["pipeline", "--output-dir", str(run_dir), *(["--config", config] if config else [])]
    print("+ sparse-feedback", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "sparse_feedback", *args], cwd=ROOT, check=True)


def _write_json(obj, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", "utf-8")


def package_rm(source: Path, target: Path) -> None:
    """The files ``load_reward_model`` reads, with the training machine's paths reduced to file names."""
    target.mkdir(parents=True)
    for name in RM_FILES:
        shutil.copyfile(source / name, target / name)
    config = json.loads((source / "reward_config.json").read_text("utf-8"))
    for key in MACHINE_PATHS:
        if config.get(key):
            config[key] = Path(config[key]).name
    _write_json(config, target / "reward_config.json")
    adapter = json.loads((source / "adapter_config.json").read_text("utf-8"))
    adapter["base_model_name_or_path"] = config["model"]  # the alias, resolved on the loading machine
    _write_json(adapter, target / "adapter_config.json")


def job_settings(config: dict) -> dict:
    """The run's config as a Best-of-n job's ``settings.json`` (``BestOfNSettings`` fields)."""
    policy, judge = config["policy"], config["judge"]
    calibrate = judge.get("calibrate", "auto")
    return {"policy": policy["model"], "n": int(config["best_of_n"]["n"]),
            "reward_models": [f"../rm_{p}" for p in PROTOCOLS],
            "reference": None if config["reference"] == "greedy" else Path(config["reference"]).name,
            "max_new_tokens": policy["max_new_tokens"], "temperature": policy["temperature"],
            "top_p": policy["top_p"], "batch_size": policy["batch_size"], "seed": policy.get("seed", 0),
            "judge_model": judge["model"], "judge_backend": judge["backend"], "judge_base_url": judge.get("base_url"),
            "judge_api_key_env": "OPENAI_API_KEY", "calibrate": None if calibrate == "auto" else bool(calibrate)}


def package_job(run: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for source, name in JOB_FILES.items():
        shutil.copyfile(run / source, target / name)
    for k, protocol in enumerate(PROTOCOLS, start=1):
        for suffix in (".json", ".scores.json"):
            shutil.copyfile(run / f"best_of_n_{protocol}_rm{suffix}", target / f"best_of_n_{k}{suffix}")
        (target / f"best_of_n_{k}.eval").mkdir()
        for name in EVAL_FILES:
            shutil.copyfile(run / f"eval_{protocol}_rm" / name, target / f"best_of_n_{k}.eval" / name)
    _write_json(job_settings(json.loads((run / "config.json").read_text("utf-8"))), target / "settings.json")


def package(run: Path, output: Path) -> None:
    """Everything into a fresh folder beside ``output``, which then replaces it."""
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".best_of_n-", dir=output.parent))
    try:
        for protocol in PROTOCOLS:
            package_rm(run / f"rm_{protocol}", staging / f"rm_{protocol}")
        package_job(run, staging / "job")
        shutil.copyfile(run / "config.json", staging / "pipeline_config.json")
        shutil.copyfile(run / "results.json", staging / "results.json")
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def summary(output: Path) -> str:
    size = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    lines = [f"wrote {output} ({size / 1024:.0f} KiB)"]
    for k, protocol in enumerate(PROTOCOLS, start=1):
        result = json.loads((output / "job" / f"best_of_n_{k}.eval" / "winrates.json").read_text("utf-8"))
        lines.append(f"{protocol} RM's best-of-n vs the reference: ratings {result['ratings']['win_rate']:.1f} %, "
                     f"rankings {result['rankings']['win_rate']:.1f} % over {result['instructions']} instructions")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-run", help="a finished `pipeline` run directory (default: run the pipeline now)")
    parser.add_argument("--config", help="a pipeline config overriding the demo config (default: the demo config)")
    parser.add_argument("--output", default=str(HERE / "best_of_n"))
    args = parser.parse_args(argv)
    output = Path(args.output)
    if args.from_run:
        package(Path(args.from_run), output)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run_pipeline(Path(tmp) / "run", args.config and str(Path(args.config).resolve()))
            package(Path(tmp) / "run", output)
    print(summary(output))


if __name__ == "__main__":
    main()
