"""Reward-model training memory: bounded on the paper's own sample, linear in tokens, refused before a step that
would not fit, and a run the system kills anyway says so (issue 27)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sparse_feedback.errors import SettingsError
from sparse_feedback.reward.config import RewardConfig
from sparse_feedback.reward.memory import GB, PeakTreeRSS, Shape
from tests.conftest import ROOT
from tests.reward_helpers import toy_rankings

ALPACA = "alpaca_generation"
FEEDBACK = {"rankings": "feedback_rankings_sample_generation.csv", "ratings": "feedback_ratings_sample_generation.csv"}


@pytest.fixture(scope="module")
def deep_tiny(tmp_path_factory) -> Path:
    """A random 8-layer, 64-wide Llama with a byte-level tokenizer: many tokens per word, as real models have, and
    enough layers that a per-layer copy of the attention mask would show."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from tests.tiny_models import tiny_tokenizer

    path = tmp_path_factory.mktemp("deep_tiny")
    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=8,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _saved_bytes(trainer, batch) -> int:
    """Bytes autograd keeps for the backward pass of one training forward (parameters excluded)."""
    import torch

    params = {p.untyped_storage().data_ptr() for p in trainer.model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            seen.setdefault(ptr, t.untyped_storage().nbytes())
        return t

    trainer.model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        trainer.model(**batch)
    return sum(seen.values())


def _trainer(model, feedback, output_dir, **overrides):
    from sparse_feedback.reward.train import Trainer

    return Trainer(RewardConfig(protocol="rankings", train=str(feedback), output_dir=str(output_dir), model=str(model),
                                eval_split=0.0, **overrides))


@pytest.mark.slow
def test_training_memory_per_token_does_not_grow_with_the_max_length(deep_tiny, seed, tmp_path):
    """The seed's real lengths at three max lengths: what a pass keeps for backward is linear in its tokens (the
    one L x L mask is shared by the layers, not copied into each)."""
    feedback = seed / ALPACA / FEEDBACK["rankings"]
    per_token, width = {}, {}
    for max_length in (256, 1024, 2048):
        trainer = _trainer(deep_tiny, feedback, tmp_path / str(max_length), max_length=max_length, batch_size=4,
                           max_batch_tokens=10**9)  # one pass per micro-batch: its size follows the max length
        batch = max((b for b, _ in trainer._passes(0)), key=lambda b: b["input_ids"].numel())
        width[max_length] = batch["input_ids"].shape[1]
        per_token[max_length] = _saved_bytes(trainer, batch) / batch["input_ids"].numel()
    assert width[2048] > 2 * width[256], width  # the longer max lengths really are longer rows
    assert per_token[2048] <= 1.25 * per_token[256], per_token
    assert per_token[1024] <= 1.25 * per_token[256], per_token


@pytest.mark.slow
def test_the_estimate_covers_what_autograd_keeps(deep_tiny, seed, tmp_path):
    trainer = _trainer(deep_tiny, seed / ALPACA / FEEDBACK["rankings"], tmp_path / "o", batch_size=4,
                       max_batch_tokens=10**9)
    batch, _ = trainer._passes(0)[0]
    measured = _saved_bytes(trainer, batch)
    estimate = trainer.shape.micro_batch(*batch["input_ids"].shape)
    assert measured <= estimate <= 3 * measured, (measured, estimate)


@pytest.mark.slow
def test_a_steps_passes_stay_within_the_token_budget(deep_tiny, seed, tmp_path):
    trainer = _trainer(deep_tiny, seed / ALPACA / FEEDBACK["rankings"], tmp_path / "o", max_batch_tokens=1024)
    for step in range(trainer.total):
        passes = trainer._passes(step)
        groups = sum(len(share) for share in trainer._micro_batches(step))
        assert sum(len(b["chosen"]) for b, _ in passes) == sum(
            len(trainer.train_groups[i].pairs) for share in trainer._micro_batches(step) for i in share)
        for batch, checkpointed in passes:
            # over the budget only as a lone group, and then its activations are recomputed
            assert batch["input_ids"].numel() <= 1024 or checkpointed
        assert len(passes) >= 1 and groups >= 1


@pytest.mark.slow
def test_a_step_that_would_not_fit_is_refused_before_it_runs(deep_tiny, tmp_path):
    toy_rankings(16).to_csv(tmp_path / "r.csv", index=False)
    trainer = _trainer(deep_tiny, tmp_path / "r.csv", tmp_path / "o", max_steps=2, max_batch_tokens=10**9,
                       memory_limit_gb=0.001)  # less than the process already holds
    with pytest.raises(SettingsError, match=r"step 1/2 .*--max-batch-tokens"):
        trainer.run()
    assert not (tmp_path / "o" / "eval_results.json").exists()
    assert not [r for r in map(json.loads, (tmp_path / "o" / "log.jsonl").read_text().splitlines()) if "loss" in r]


@pytest.mark.slow
def test_the_train_command_refuses_in_one_line_with_exit_2(cli, deep_tiny, tmp_path):
    toy_rankings(16).to_csv(tmp_path / "r.csv", index=False)
    done = cli("train", "rankings", "--train", tmp_path / "r.csv", "--output-dir", tmp_path / "o", "--model",
               deep_tiny, "--max-steps", "2", "--memory-limit-gb", "0.001")
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: step 1/2") and "lower --max-batch-tokens" in last and "Traceback" not in done.stderr


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.slow
def test_a_run_the_system_kills_is_reported_with_its_step(deep_tiny, tmp_path):
    toy_rankings(24).to_csv(tmp_path / "r.csv", index=False)
    out = tmp_path / "o"
    watcher = subprocess.Popen([sys.executable, "-m", "sparse_feedback", "train", "rankings", "--train",
                                str(tmp_path / "r.csv"), "--output-dir", str(out), "--model", str(deep_tiny),
                                "--max-steps", "400", "--batch-size", "1"], cwd=ROOT, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # until the trainer is past its first step
        state = out / "progress.json"
        if state.exists() and json.loads(state.read_text())["done"] >= 2:
            break
        assert watcher.poll() is None, watcher.stderr.read()[-2000:]
        time.sleep(0.2)
    (trainer_pid,) = _children(watcher.pid)
    os.kill(trainer_pid, signal.SIGKILL)  # what the kernel's out-of-memory killer does
    _, stderr = watcher.communicate(timeout=60)
    step = json.loads((out / "progress.json").read_text())["done"]
    assert watcher.returncode == 128 + signal.SIGKILL
    reason = f"error: training killed by the system (out of memory?) at step {step}/400"
    assert stderr.strip().splitlines()[-1] == reason


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["rankings", "ratings"])
def test_the_paper_sample_trains_with_the_defaults_within_6_gb(protocol, seed, tmp_path):
    """SmolLM2-135M, default settings, the whole seed sample at its real lengths: 2 steps, the process tree's RSS."""
    proc = subprocess.Popen([sys.executable, "-m", "sparse_feedback", "train", protocol, "--train",
                             str(seed / ALPACA / FEEDBACK[protocol]), "--output-dir", str(tmp_path / "rm"),
                             "--max-steps", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    with PeakTreeRSS(proc.pid) as watch:
        output, _ = proc.communicate(timeout=3000)
    assert proc.returncode == 0, output[-3000:]
    assert (tmp_path / "rm" / "eval_results.json").exists()
    assert watch.peak <= 6 * GB, f"peak {watch.peak / GB:.2f} GB"


def test_the_estimate_follows_the_model_shape():
    small, large = Shape(30, 576, 1536), Shape(24, 2048, 8192)  # SmolLM2 135M and 1.7B
    assert large.per_token() > 3 * small.per_token()
    assert small.per_token(checkpointed=True) < small.per_token() / 3
    assert Shape(30, 576, 1536, dtype_bytes=2).per_token() == small.per_token() / 2
    # linear in tokens apart from the one shared mask: twice the rows, twice the bytes
    assert small.micro_batch(8, 512) == 2 * small.micro_batch(4, 512)
