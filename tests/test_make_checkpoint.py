"""bench/make_checkpoint.py: random-weight SmolLM2 shapes that load like any checkpoint."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import make_checkpoint  # noqa: E402

LOCAL = Path.home() / ".cache" / "sparse_feedback" / "smollm2-135m-hf" / "config.json"
KEYS = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
        "vocab_size", "max_position_embeddings", "tie_word_embeddings"]


@pytest.mark.slow
@pytest.mark.skipif(not LOCAL.exists(), reason="no local smollm2-135m checkpoint")
def test_the_135m_shape_is_the_local_smollm2_config():
    local = json.loads(LOCAL.read_text())
    ours = make_checkpoint.llama_config("135m").to_dict()
    assert {k: ours[k] for k in KEYS} == {k: local[k] for k in KEYS}
    assert ours["rope_parameters"]["rope_theta"] == local["rope_parameters"]["rope_theta"]


@pytest.mark.slow
def test_a_random_checkpoint_loads_as_a_reward_backbone_with_the_smollm2_tokenizer(tmp_path):
    from sparse_feedback.hub import load_sequence_classifier

    path = make_checkpoint.make_checkpoint("1.7b", tmp_path / "ck", num_hidden_layers=1, hidden_size=64,
                                           intermediate_size=128, num_attention_heads=4, num_key_value_heads=4)
    model, tokenizer = load_sequence_classifier(str(path))
    assert model.config.vocab_size == 49152 and len(tokenizer) == 49152
    assert model(**tokenizer(["Hello there"], return_tensors="pt")).logits.shape == (1, 1)
