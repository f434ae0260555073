"""The offline alias loads SmolLM2-135M-Instruct without the hub."""

import pytest

from sparse_feedback import models


@pytest.mark.slow
def test_smollm2_alias_resolves_offline_to_a_trainable_checkpoint(monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_OFFLINE", "1")
    models.hub_reachable.cache_clear()
    path = models.resolve("smollm2-135m")
    assert path != models.ALIASES["smollm2-135m"]
    model, tokenizer = models.load_sequence_classifier("smollm2-135m")
    assert model.config.num_labels == 1
    assert tokenizer.pad_token == tokenizer.eos_token
    assert getattr(model, "hf_quantizer", None) is None
    assert getattr(model.config, "quantization_config", None) is None


def test_names_that_are_not_aliases_pass_through():
    assert models.resolve("some-org/some-model") == "some-org/some-model"


def test_offline_env_means_hub_unreachable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    models.hub_reachable.cache_clear()
    assert models.hub_reachable() is False
    models.hub_reachable.cache_clear()
