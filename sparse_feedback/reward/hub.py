"""Reward models on the Hub: push a trained folder with its model card, and load one by ``OWNER/NAME`` as a
folder is loaded (``snapshot_download`` into the Hugging Face cache)."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path

from sparse_feedback.formats.cards import ModelFacts, model_card
from sparse_feedback.formats.hub import PushResult, download_repo, push_files
from sparse_feedback.reward.config import CONFIG_FILE, RewardConfig
from sparse_feedback.reward.metrics import accuracy_interval
from sparse_feedback.reward.runs import LOG_FILE, RESULTS_FILE, STDOUT_FILE, held_out_pairs, training_command

_REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")
_LEFT_OUT = {LOG_FILE, STDOUT_FILE, "README.md"}  # run logs stay local; the card is written fresh


def hub_model_dir(name) -> Path:
    """A local reward-model folder for ``name``: the folder itself, or a Hub repo ``OWNER/NAME`` downloaded.

    >>> hub_model_dir("assets/demo/best_of_n/rm_rankings").name
    'rm_rankings'
    """
    from sparse_feedback.errors import InputError

    path = Path(str(name))
    if path.exists() or not _REPO_ID.fullmatch(str(name)):
        return path
    try:
        return download_repo(str(name), repo_type="model")
    except InputError as err:
        raise InputError(name, f"not a local folder, and on the Hub: {err.message}") from None


def _command(config: RewardConfig) -> str:
    """The CLI call that reproduces the run: every option that differs from its default."""
    defaults = RewardConfig()
    options = {f.name: getattr(config, f.name) for f in dataclasses.fields(RewardConfig)
               if f.name not in ("protocol", "train", "output_dir", "model", "resume", "device")
               and getattr(config, f.name) != getattr(defaults, f.name)}
    cmd = training_command(config.protocol, config.train, config.output_dir, config.model, **options)
    return shlex.join(["python", *cmd[1:]])


def model_facts(model_dir, repo_id: str, aggregation: str | None = None) -> ModelFacts:
    """The card facts of a trained folder: its config, results and adapter."""
    model_dir = Path(model_dir)
    config = RewardConfig.load(model_dir)
    results_path = model_dir / RESULTS_FILE
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    pairs = held_out_pairs(results)
    accuracy, n = pairs.get("accuracy"), int(pairs.get("n_pairs") or 0)
    adapter = model_dir / "adapter_config.json"
    lora = None
    if adapter.exists():
        a = json.loads(adapter.read_text())
        targets = a.get("target_modules") or []
        lora = {"r": a.get("r"), "alpha": a.get("lora_alpha"), "dropout": a.get("lora_dropout"),
                "targets": ", ".join(sorted(targets)) if isinstance(targets, list) else str(targets)}
    unit = "ranked pairs" if config.protocol == "rankings" else "rated responses"
    return ModelFacts(
        name=repo_id, base=config.model, protocol=config.protocol, train_rows=results.get("n_train"),
        aggregation=aggregation or f"{unit} of `{Path(config.train).name}`, one row each as given in that file",
        lora=lora, accuracy=accuracy, held_out=n,
        interval=accuracy_interval(float(accuracy), n) if accuracy is not None and n else None,
        command=_command(config), files=sorted(p.name for p in _pushed(model_dir)))


def _pushed(model_dir: Path) -> list[Path]:
    """The folder's own files (weights, tokenizer, config, results); checkpoints, logs and markers stay local."""
    return [p for p in sorted(model_dir.iterdir()) if p.is_file() and p.name not in _LEFT_OUT
            and not p.name.startswith(".")]


def push_reward_model(model_dir, repo_id: str, *, private: bool = False, revision: str | None = None,
                      token: str | None = None, aggregation: str | None = None) -> PushResult:
    """Push a trained reward-model folder and its model card as one commit."""
    from sparse_feedback.errors import InputError

    model_dir = Path(model_dir)
    if not (model_dir / CONFIG_FILE).exists():
        raise InputError(model_dir, f"not a trained reward model directory (no {CONFIG_FILE})")
    facts = model_facts(model_dir, repo_id, aggregation)
    files: dict = {p.name: p for p in _pushed(model_dir)}
    files["README.md"] = model_card(facts).encode("utf-8")
    return push_files(repo_id, files, repo_type="model", private=private, revision=revision, token=token,
                      message=f"sparse-feedback: {facts.protocol} reward model")
