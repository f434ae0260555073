"""Training a reward model on a tiny random Llama: learning, resuming, multi-process agreement, outputs."""

import json
import shutil
from pathlib import Path

import pytest
from reward_helpers import log_losses, tiny_model_fixture, toy_ratings, toy_rankings

from sparse_feedback.reward.config import RewardConfig
from sparse_feedback.reward.train import checkpoints, train

ROOT = Path(__file__).resolve().parents[1]
tiny = pytest.fixture(scope="module")(tiny_model_fixture)


@pytest.fixture
def data(tmp_path):
    toy_rankings(32).to_csv(tmp_path / "rankings.csv", index=False)
    toy_ratings(8).to_csv(tmp_path / "ratings.csv", index=False)
    return tmp_path


def config(data, tiny, protocol="rankings", **kw):
    base = dict(protocol=protocol, train=str(data / f"{protocol}.csv"), output_dir=str(data / f"out-{protocol}"),
                model=str(tiny), batch_size=4, lr=1e-2, epochs=4, eval_split=0.25, seed=0)
    return RewardConfig(**{**base, **kw})


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["rankings", "ratings"])
def test_loss_decreases_on_a_separable_toy_set(data, tiny, protocol):
    results = train(config(data, tiny, protocol))
    losses = list(log_losses(data / f"out-{protocol}").values())
    assert sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3
    if protocol == "rankings":
        assert results["eval"]["accuracy"] == 1.0
    else:
        assert results["eval"]["spearman"] > 0.5


@pytest.mark.slow
def test_output_dir_holds_adapter_config_results_and_log(data, tiny):
    cfg = config(data, tiny, cross_eval=str(data / "ratings.csv"), epochs=1)
    train(cfg)
    out = data / "out-rankings"
    for name in ("adapter_model.safetensors", "adapter_config.json", "reward_config.json", "eval_results.json",
                 "log.jsonl"):
        assert (out / name).exists(), name
    results = json.loads((out / "eval_results.json").read_text())
    cross = results["cross_protocol"]["rankings_rm_on_rating_implied_pairs"]["implied_pairs"]
    assert cross["n_pairs"] == 8 * 6  # per prompt: 4 responses with distinct ratings, 6 pairs
    assert json.loads((out / "reward_config.json").read_text())["lora_r"] == 32
    assert "score" in json.loads((out / "adapter_config.json").read_text())["modules_to_save"]


@pytest.mark.slow
def test_resume_continues_the_step_count_after_a_kill(data, tiny):
    straight = train(config(data, tiny, output_dir=str(data / "straight"), epochs=2, save_steps=2))
    full = log_losses(data / "straight")

    def kill_at_step_3(done, total, desc):
        if done == 3:
            raise KeyboardInterrupt  # dies without a clean save: the last checkpoint is step 2

    cfg = config(data, tiny, output_dir=str(data / "killed"), epochs=2, save_steps=2)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, callback=kill_at_step_3)
    assert [c.name for c in checkpoints(data / "killed")][-1] == "step-0000002"
    resumed = train(RewardConfig(**{**cfg.to_dict(), "resume": True}))
    losses = log_losses(data / "killed")
    assert sorted(losses) == list(range(1, len(full) + 1))  # every step logged once, count continued
    assert resumed["step"] == straight["step"] == len(full)
    assert losses[len(full)] == pytest.approx(full[len(full)], rel=1e-4)  # same trajectory as no kill


@pytest.mark.slow
def test_two_process_accelerate_run_agrees_with_one_process_on_the_step_1_loss(data, tiny, cli):
    if shutil.which("accelerate") is None:
        pytest.skip("accelerate launcher not on PATH")
    import subprocess

    common = ["train", "rankings", "--train", data / "rankings.csv", "--model", tiny, "--max-steps", "2",
              "--lr", "1e-2", "--eval-split", "0.25"]
    one = cli(*common, "--output-dir", data / "one", "--batch-size", "8")
    assert one.returncode == 0, one.stderr[-2000:]
    # --multi_gpu is accelerate's torchrun launcher; without a GPU the processes join a gloo group on CPU
    two = subprocess.run(["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--main_process_port",
                          "29531", "-m", "sparse_feedback", *map(str, common), "--output-dir", str(data / "two"),
                          "--batch-size", "4"], capture_output=True, text=True, timeout=300,
                         cwd=str(ROOT))
    assert two.returncode == 0, two.stderr[-2000:]
    assert log_losses(data / "two")[1] == pytest.approx(log_losses(data / "one")[1], rel=1e-5)
    first = lambda d: json.loads((d / "log.jsonl").read_text().splitlines()[0])  # noqa: E731
    assert first(data / "two")["epoch"] == first(data / "one")["epoch"]  # 2 x 4 pairs per step: 2 processes ran
