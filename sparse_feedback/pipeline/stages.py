"""The study's stages as functions with typed inputs and outputs, called by the CLI pipeline
(:mod:`sparse_feedback.pipeline.run`) and by the app's Best-of-n job (:mod:`sparse_feedback.jobs.best_of_n`).

Each writes its artefact(s) atomically (through the stage module it calls) and returns what it made;
generation and judging resume inside a stage from their own logs and caches.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sparse_feedback import formats
from sparse_feedback.pipeline.config import JudgeConfig, PolicyConfig
from sparse_feedback.progress import ProgressCallback


def policy_backend(policy: PolicyConfig, device: str = "auto"):
    """The policy's sampling backend (load it once to sample candidates and the reference)."""
    from sparse_feedback.generate import make_backend

    return make_backend(policy.backend, policy.model, base_url=policy.base_url, device=device,
                        tensor_parallel_size=policy.tensor_parallel_size)


def sample(instructions: pd.DataFrame, policy: PolicyConfig, n: int, output: Path, temperature: float | None = None,
           callback: ProgressCallback | None = None, backend=None, device: str = "auto") -> list[dict]:
    """``n`` responses per instruction into the generation JSON ``output``; returns its records."""
    from sparse_feedback.generate import SamplingConfig, generate

    config = SamplingConfig(n=n, max_new_tokens=policy.max_new_tokens,
                            temperature=policy.temperature if temperature is None else temperature,
                            top_p=policy.top_p, seed=policy.seed, batch_size=policy.batch_size,
                            prompt_format=policy.prompt_format)
    return generate(instructions, backend or policy_backend(policy, device), config, output, callback=callback,
                    model=policy.model)


def greedy_reference(instructions: pd.DataFrame, policy: PolicyConfig, generation: Path, output: Path,
                     callback: ProgressCallback | None = None, backend=None, device: str = "auto") -> Path:
    """The policy's greedy output (``generation``, then ``output`` in AlpacaEval format): the reference."""
    records = sample(instructions, policy, 1, generation, temperature=0.0, callback=callback, backend=backend,
                     device=device)
    formats.write_json([{"instruction": r["instruction"], "input": r["input"], "output": r["responses"][0],
                         "generator": f"{Path(str(policy.model)).name}-greedy"} for r in records], output)
    return Path(output)


def open_judge(config: JudgeConfig, cache: Path, callback: ProgressCallback | None = None, device: str = "auto"):
    """An :class:`~sparse_feedback.evaluate.judging.EngineJudge` (use it as a context manager)."""
    from sparse_feedback.evaluate.judging import EngineJudge
    from sparse_feedback.judge import judge_backend

    backend = judge_backend(config.model, config.backend, config.base_url, config.api_key_env, device=device)
    return EngineJudge(backend, cache, callback, calibrate=config.calibrated, batch=bool(config.batch))


def judge(generation: pd.DataFrame, config: JudgeConfig, cache: Path, ratings_out: Path, rankings_out: Path,
          callback: ProgressCallback | None = None, device: str = "auto") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ratings and both-order rankings of every response; returns (ratings, rankings) as written."""
    with open_judge(config, cache, callback, device) as engine:
        ratings = engine.ratings(formats.rating_tasks(generation))
        rankings = engine.rankings(formats.ranking_tasks(generation))
        if engine.calibrate:
            from sparse_feedback.evaluate.calibrate import calibrate_ratings

            ratings = calibrate_ratings(ratings)[0]
        formats.write_table(rankings, rankings_out)
        formats.write_table(ratings, ratings_out)
    return ratings, rankings


def consistency(ratings: pd.DataFrame, rankings: pd.DataFrame, output: Path) -> dict:
    """How often the ranked preference agrees with the one the ratings imply; written to ``output``."""
    from sparse_feedback.analysis import consistency as measure

    result = measure(ratings, rankings).to_dict()
    formats.write_json(result, output)
    return result


def train(protocol: str, feedback: Path, other_feedback: Path, output_dir: Path, reward: dict,
          callback: ProgressCallback | None = None) -> Path:
    """A reward model on ``protocol`` feedback, cross-evaluated on the other protocol's; returns its dir."""
    from sparse_feedback.reward.config import RewardConfig
    from sparse_feedback.reward.train import train as train_rm

    config = RewardConfig(protocol=protocol, train=str(feedback), output_dir=str(output_dir),
                          cross_eval=str(other_feedback), **reward)
    train_rm(config, callback=callback)
    return Path(output_dir)


def rerank(candidates: pd.DataFrame, rm_dir, output: Path, label: str,
           callback: ProgressCallback | None = None, device: str = "auto") -> Path:
    """Each instruction's best candidate by the reward model in ``rm_dir`` (AlpacaEval format, ``output``)."""
    from sparse_feedback.rerank import default_generator, rerank as best_of
    from sparse_feedback.reward import load_reward_model

    best_of(candidates, load_reward_model(rm_dir, device=device), output, default_generator(candidates, label),
            callback=callback)
    return Path(output)


def evaluate(reference: pd.DataFrame, chosen: pd.DataFrame, engine, output_dir: Path):
    """Both win-rates of ``chosen`` against ``reference`` by an open judge ``engine``, into ``output_dir``."""
    from sparse_feedback.evaluate import evaluate as win_rates, matched_outputs

    return win_rates(matched_outputs(reference, chosen), engine, output_dir)


def report(results: dict, path: Path, run_dir: Path | None = None) -> Path:
    """``report.html``: the run's headline numbers, then the dashboards' report of its data."""
    from sparse_feedback.pipeline.report import write_report

    return write_report(results, path, run_dir)
