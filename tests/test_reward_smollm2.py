"""SmolLM2-135M + LoRA trains a few steps offline and reloads through the reranker's API."""

import numpy as np
import pytest
from reward_helpers import toy_rankings

from sparse_feedback.reward.config import RewardConfig
from sparse_feedback.reward.scoring import load_reward_model
from sparse_feedback.reward.train import train


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_smollm2_lora_trains_offline_and_reloads_with_load_reward_model(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_OFFLINE", "1")
    from sparse_feedback import hub

    hub.hub_reachable.cache_clear()
    toy_rankings(8).to_csv(tmp_path / "rankings.csv", index=False)
    cfg = RewardConfig(protocol="rankings", train=str(tmp_path / "rankings.csv"), output_dir=str(tmp_path / "rm"),
                       model="smollm2-135m", max_steps=2, batch_size=2, max_length=96, eval_split=0.25)
    results = train(cfg)
    assert results["step"] == 2 and results["eval"]["n_pairs"] == 2
    rm = load_reward_model(tmp_path / "rm")
    rewards = rm.score(["Say something nice."] * 2 + ["Add 2 and 3."], ["", "", ""],
                       ["this answer is good", "this answer is awful", "5"], batch_size=2)
    assert rewards.shape == (3,) and rewards.dtype == np.float32 and np.isfinite(rewards).all()
    # the same response scores the same alone and inside a packed batch
    alone = rm.score(["Say something nice."], [""], ["this answer is awful"])
    assert alone[0] == pytest.approx(rewards[1], abs=1e-4)
