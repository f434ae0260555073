"""``pipeline``: the whole study into one run directory, resumable, with results.json and report.html."""

import json

import pytest
import yaml

from fake_openai import FakeJudgeServer
from sparse_feedback.errors import InputError
from sparse_feedback.pipeline import load_config
from tiny_models import tiny_causal_lm


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def judge_server():
    """A deterministic judge behind a real OpenAI-compatible endpoint (a random tiny LM always says 'equal')."""
    with FakeJudgeServer() as server:
        yield server


def tiny_config(tmp_path, judge_url) -> "Path":
    model = str(tiny_causal_lm(tmp_path / "tiny-lm", chat=True))
    config = {"train_instructions": 4, "heldout_instructions": 3,
              "policy": {"model": model, "n": 3, "max_new_tokens": 8, "batch_size": 4},
              "best_of_n": {"n": 3},
              "judge": {"model": "fake-judge", "backend": "openai", "base_url": judge_url},
              "reward": {"model": model, "max_steps": 2, "batch_size": 4, "lora_r": 4, "lora_alpha": 8,
                         "lora_targets": "q_proj,v_proj"}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_tiny_pipeline_runs_every_stage_reports_both_win_rates_of_both_rms_and_resumes(cli, tmp_path, judge_server):
    run = tmp_path / "run"
    result = cli("pipeline", "--output-dir", run, "--config", tiny_config(tmp_path, judge_server.base_url))
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((run / "results.json").read_text())
    assert 0 <= results["consistency"]["percent"] <= 100 and results["consistency"]["pairs"] > 0
    for protocol in ("ratings", "rankings"):
        assert results["reward_models"][protocol]["protocol"] == protocol
        for evaluation in ("ratings", "rankings"):
            winrate = results["win_rates"][f"{protocol}_rm"][evaluation]
            assert winrate["n"] == 3 and 0 <= winrate["win_rate"] <= 100
        best = json.loads((run / f"best_of_n_{protocol}_rm.json").read_text())
        assert len(best) == 3 and all(r["generator"].endswith(f"best-of-3-{protocol}_rm") for r in best)
    assert len(json.loads((run / "candidates.json").read_text())[0]["responses"]) == 3
    report = (run / "report.html").read_text()
    assert f"{results['consistency']['percent']:.1f} %" in report
    assert "consistency" in result.stdout

    again = cli("pipeline", "--output-dir", run, "--config", tiny_config(tmp_path, judge_server.base_url))
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("done already") == 12 and "] ..." not in again.stdout
    assert json.loads((run / "results.json").read_text())["win_rates"] == results["win_rates"]


@pytest.mark.slow
def test_config_overrides_the_demo_key_by_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("policy: {n: 2}\n")
    config = load_config(path)
    assert config.policy.n == 2 and config.policy.model == "smollm2-135m"
    assert load_config("pipeline_tiny.yaml").train_instructions == 4


def test_an_unknown_config_key_is_an_error_naming_it_and_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("policy: {n: 2, temprature: 0.5}\n")
    with pytest.raises(InputError, match=r"c\.yaml: unknown key 'policy\.temprature'"):
        load_config(path)
    path.write_text("best_of_m: {n: 2}\n")
    with pytest.raises(InputError, match="unknown key 'best_of_m'"):
        load_config(path)


def test_packaged_instructions_are_enough_for_the_demo_split():
    config = load_config()
    from sparse_feedback.formats import read_instructions
    from sparse_feedback.pipeline.run import _instructions_path

    frame = read_instructions(_instructions_path(config, None))
    assert len(frame) >= config.train_instructions + config.heldout_instructions
    assert frame["instruction"].is_unique


@pytest.mark.slow
def test_demo_config_slice_with_smollm2_runs_offline(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_OFFLINE", "1")
    run = tmp_path / "run"
    result = cli("pipeline", "--output-dir", run, "--config", "pipeline_tiny.yaml", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((run / "results.json").read_text())
    assert set(results["win_rates"]) == {"ratings_rm", "rankings_rm"}
    assert results["consistency"]["pairs"] > 0
