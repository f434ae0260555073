"""Generate → rerank → evaluate from the command line, with a tiny model and a judge behind a real HTTP server."""

import json

import pytest

from fake_openai import FakeJudgeServer
from tiny_models import tiny_causal_lm, tiny_reward_model


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))


@pytest.mark.slow
def test_generate_rerank_evaluate_with_a_tiny_model(cli, tmp_path):
    policy = tiny_causal_lm(tmp_path / "policy")
    rm = tiny_reward_model(tmp_path / "rm", policy)
    instructions = tmp_path / "instructions.json"
    instructions.write_text(json.dumps([{"instruction": f"Name a colour ({i}).", "input": "", "dataset": "demo"}
                                        for i in range(4)]))
    steps = [
        ("generate", "--instructions", instructions, "--model", policy, "--n", 4, "--max-new-tokens", 8,
         "--output", tmp_path / "candidates.json"),
        ("generate", "--instructions", instructions, "--model", policy, "--n", 1, "--temperature", 0,
         "--max-new-tokens", 8, "--output", tmp_path / "greedy.json"),
        ("rerank", "--rm", rm, "--candidates", tmp_path / "candidates.json", "--output", tmp_path / "best.json"),
    ]
    for step in steps:
        result = cli(*step)
        assert result.returncode == 0, result.stderr[-2000:]
    greedy = json.loads((tmp_path / "greedy.json").read_text())
    reference = [{"instruction": g["instruction"], "output": g["responses"][0], "generator": "greedy"} for g in greedy]
    (tmp_path / "reference.json").write_text(json.dumps(reference))

    best = json.loads((tmp_path / "best.json").read_text())
    scores = json.loads((tmp_path / "best.scores.json").read_text())
    for record, scored in zip(best, scores):
        top = max(scored["candidates"], key=lambda c: c["score"])
        assert record["output"] == top["response"] and record["dataset"] == "demo"
    assert best[0]["generator"] == "policy-best-of-4-rm"

    with FakeJudgeServer() as judge:
        result = cli("evaluate", "--reference", tmp_path / "reference.json", "--candidate", tmp_path / "best.json",
                     "--judge-model", "judge", "--base-url", judge.base_url, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    winrates = json.loads(result.stdout)
    assert winrates["ratings"]["n"] == winrates["rankings"]["n"] == 4
    assert judge.requests == 4 * 2 + 4 * 2
