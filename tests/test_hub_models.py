"""Issue 22: a reward model pushed to the (fake) Hub with its card, then loaded by ``rerank --rm OWNER/NAME``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sparse_feedback.formats.cards import front_matter
from tests.reward_helpers import tiny_model, toy_rankings
from tests.hub_fixtures import fake_hub, hub_cli, one_error_line  # noqa: F401  (fixtures)

GENERATION = [{"instruction": f"write story {i}", "input": "", "responses": ["this answer is good", "this is bad",
                                                                              f"the reply is fine {i}"]}
              for i in range(3)]


def scores(path) -> np.ndarray:
    return np.array([c["score"] for row in json.loads(path.read_text()) for c in row["candidates"]])


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_reward_model_pushed_after_training_reranks_from_the_hub_exactly_as_its_folder(hub_cli, fake_hub,
                                                                                          tmp_path):
    tiny = tiny_model(tmp_path / "tiny")
    train = tmp_path / "rankings.csv"
    toy_rankings(16).to_csv(train, index=False)
    out = tmp_path / "rm"
    done = hub_cli("train", "rankings", "--train", train, "--output-dir", out, "--model", tiny, "--max-steps", "2",
                   "--eval-split", "0.25", "--lora-r", "4", "--push-to-hub", "tester/rankings-rm")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pushed the reward model to" in done.stdout
    files = fake_hub.files("tester/rankings-rm", kind="model")
    assert {"adapter_config.json", "adapter_model.safetensors", "reward_config.json", "eval_results.json",
            "tokenizer.json", "README.md"} <= set(files)
    assert "log.jsonl" not in files and not any(p.startswith("checkpoint") for p in files)

    meta = front_matter(files["README.md"].decode())
    facts = meta["sparse_feedback"]
    assert meta["base_model"] == str(tiny) and facts["protocol"] == "rankings"
    assert facts["lora"]["r"] == 4 and facts["train_rows"] == json.loads(files["eval_results.json"])["n_train"]
    low, high = facts["interval"]
    assert facts["held_out"] > 0 and low <= facts["accuracy"] <= high
    assert "train rankings" in facts["command"] and "--lora-r 4" in facts["command"]

    generation = tmp_path / "gen.json"
    generation.write_text(json.dumps(GENERATION))
    local = hub_cli("rerank", "--rm", out, "--candidates", generation, "--output", tmp_path / "local.json")
    assert local.returncode == 0, local.stderr[-3000:]
    remote = hub_cli("rerank", "--rm", "tester/rankings-rm", "--candidates", generation,
                     "--output", tmp_path / "hub.json", token=None)
    assert remote.returncode == 0, remote.stderr[-3000:]
    np.testing.assert_allclose(scores(tmp_path / "hub.scores.json"), scores(tmp_path / "local.scores.json"),
                               atol=1e-5, rtol=0)

    again = hub_cli("push-rm", "--model-dir", out, "--push-to-hub", "tester/rankings-rm")
    assert again.returncode == 0 and "unchanged on the Hub" in again.stdout, again.stderr[-3000:]


@pytest.mark.slow
def test_rerank_with_an_unknown_hub_model_is_one_line(hub_cli, tmp_path):
    generation = tmp_path / "gen.json"
    generation.write_text(json.dumps(GENERATION))
    line = one_error_line(hub_cli("rerank", "--rm", "tester/no-such-rm", "--candidates", generation,
                                  "--output", tmp_path / "out.json"))
    assert "tester/no-such-rm" in line and "no such repository" in line
