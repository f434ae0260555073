"""``generate``: n samples per instruction, transformers or OpenAI-compatible backend, resumable."""

import json

import pandas as pd
import pytest

from fake_sampler import FakeSampler
from sparse_feedback.errors import InputError
from sparse_feedback.formats import read_generation
from sparse_feedback.generate import SamplingConfig, generate, make_backend, sidecar_path
from sparse_feedback.templates import policy_prompt
from tiny_models import tiny_causal_lm, tiny_tokenizer

INSTRUCTIONS = [
    {"instruction": "Name three colours.", "input": "", "dataset": "demo"},
    {"instruction": "Add the numbers.", "input": "2, 3", "dataset": "demo"},
    {"instruction": "Write a haiku about the sea.", "input": "", "dataset": "poems"},
]


@pytest.fixture
def instructions(tmp_path):
    path = tmp_path / "instructions.json"
    path.write_text(json.dumps(INSTRUCTIONS))
    return path


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "lm", chat=True)


class CountingBackend:
    """Answers instantly and records which instructions it was asked for."""

    model_name = "counter"

    def __init__(self, fail_after: int | None = None):
        self.asked, self.fail_after = [], fail_after

    def generate(self, items, config, on_result):
        for index, instruction, _ in items:
            if self.fail_after is not None and len(self.asked) == self.fail_after:
                raise KeyboardInterrupt
            self.asked.append(index)
            on_result(index, [f"{instruction} #{k}" for k in range(config.n)])


@pytest.mark.slow
def test_transformers_backend_writes_the_generation_json_with_n_responses(cli, instructions, tiny_lm, tmp_path):
    out = tmp_path / "gen.json"
    result = cli("generate", "--instructions", instructions, "--model", tiny_lm, "--n", 3, "--output", out,
                 "--max-new-tokens", 6, "--batch-size", 2, "--seed", 1)
    assert result.returncode == 0, result.stderr
    gen = read_generation(out)
    assert gen["instruction"].tolist() == [r["instruction"] for r in INSTRUCTIONS]
    assert [len(r) for r in gen["responses"]] == [3, 3, 3]
    assert gen["dataset"].tolist() == ["demo", "demo", "poems"]
    assert json.loads(out.read_text())[0]["generator"] == str(tiny_lm)


@pytest.mark.slow
def test_same_seed_gives_the_same_samples(instructions, tiny_lm, tmp_path):
    backend = make_backend("transformers", str(tiny_lm))
    frame = pd.DataFrame(INSTRUCTIONS)
    config = SamplingConfig(n=2, max_new_tokens=5, seed=7, batch_size=3)
    first = generate(frame, backend, config, tmp_path / "a.json")
    again = generate(frame, backend, config, tmp_path / "b.json")
    assert first == again


def test_prompt_format_auto_uses_the_chat_template_only_when_the_tokenizer_has_one():
    chat, plain = tiny_tokenizer(chat=True), tiny_tokenizer(chat=False)
    assert policy_prompt("Say hi.", "", chat, "auto").startswith("<|user|>Say hi.")
    assert policy_prompt("Say hi.", "", plain, "auto").startswith("Below is an instruction")
    assert policy_prompt("Say hi.", "", chat, "alpaca").startswith("Below is an instruction")


@pytest.mark.slow
def test_rerun_after_an_interruption_generates_only_the_missing_instructions(tmp_path):
    frame, out = pd.DataFrame(INSTRUCTIONS), tmp_path / "gen.json"
    config = SamplingConfig(n=2)
    with pytest.raises(KeyboardInterrupt):
        generate(frame, CountingBackend(fail_after=2), config, out)
    assert not out.exists()
    assert len(sidecar_path(out).read_text().splitlines()) == 3  # settings + 2 instructions
    backend = CountingBackend()
    records = generate(frame, backend, config, out)
    assert backend.asked == [2]
    assert [r["responses"][0] for r in records] == [f"{r['instruction']} #0" for r in INSTRUCTIONS]
    again = CountingBackend()
    generate(frame, again, config, out)
    assert again.asked == []


@pytest.mark.slow
def test_a_line_cut_short_by_a_crash_is_generated_again(tmp_path):
    frame, out = pd.DataFrame(INSTRUCTIONS), tmp_path / "gen.json"
    generate(frame, CountingBackend(), SamplingConfig(n=1), out)
    side = sidecar_path(out)
    side.write_text(side.read_text()[:-15])
    backend = CountingBackend()
    generate(frame, backend, SamplingConfig(n=1), out)
    assert backend.asked == [2]


@pytest.mark.slow
def test_a_sidecar_made_with_other_settings_is_refused(tmp_path):
    frame, out = pd.DataFrame(INSTRUCTIONS), tmp_path / "gen.json"
    generate(frame, CountingBackend(), SamplingConfig(n=2), out)
    with pytest.raises(InputError, match="other settings"):
        generate(frame, CountingBackend(), SamplingConfig(n=3), out)


@pytest.mark.slow
def test_greedy_decoding_with_several_samples_is_a_usage_error(cli, instructions, tmp_path):
    result = cli("generate", "--instructions", instructions, "--model", "x", "--n", 4, "--temperature", 0,
                 "--output", tmp_path / "g.json")
    assert result.returncode == 2 and "greedy" in result.stderr
    assert not (tmp_path / "g.json").exists()


@pytest.mark.slow
def test_openai_backend_asks_for_n_samples_per_request(cli, instructions, tmp_path):
    out = tmp_path / "gen.json"
    with FakeSampler() as server:
        result = cli("generate", "--instructions", instructions, "--model", "served-model", "--n", 4,
                     "--output", out, "--backend", "openai", "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    assert len(server.requests) == 3 and all(r["n"] == 4 and r["model"] == "served-model" for r in server.requests)
    assert server.requests[0]["path"].endswith("/chat/completions")
    gen = read_generation(out)
    assert [len(r) for r in gen["responses"]] == [4, 4, 4]
    assert gen["responses"][1][0].endswith("Add the numbers.\n\n2, 3")


@pytest.mark.slow
def test_openai_backend_asks_again_when_the_server_ignores_n(tmp_path):
    with FakeSampler(max_n=1) as server:
        backend = make_backend("openai", "m", base_url=server.base_url)
        records = generate(pd.DataFrame(INSTRUCTIONS[:1]), backend, SamplingConfig(n=3, prompt_format="alpaca"),
                           tmp_path / "g.json")
    assert len(records[0]["responses"]) == 3
    assert [r["n"] for r in server.requests] == [3, 2, 1]
    assert server.requests[0]["path"].endswith("/v1/completions")
    assert server.requests[0]["prompt"].startswith("Below is an instruction")


@pytest.mark.slow
def test_an_unreachable_server_is_a_one_line_error_and_nothing_is_written(cli, instructions, tmp_path):
    out = tmp_path / "gen.json"
    result = cli("generate", "--instructions", instructions, "--model", "m", "--backend", "openai",
                 "--base-url", "http://127.0.0.1:9/v1", "--output", out, "--max-retries", 0)
    assert result.returncode == 1 and "http://127.0.0.1:9/v1" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_shared_prompt_cache_gives_the_same_samples_as_prefilling_every_copy(tiny_lm):
    """Prompts of different lengths (left padding) in one batch; near-greedy sampling makes both ways exact."""
    from sparse_feedback.backends.transformers import TransformersBackend

    backend = TransformersBackend(str(tiny_lm), device="cpu")
    items = [(i, row["instruction"], row["input"]) for i, row in enumerate(INSTRUCTIONS)]
    config = SamplingConfig(n=3, max_new_tokens=6, temperature=1e-4, batch_size=3)
    got = {}
    for shared in (True, False):
        backend.share_prompt_cache = shared
        out: dict = {}
        backend.generate(items, config, out.__setitem__)
        got[shared] = out
    assert got[True] == got[False] and sorted(got[True]) == [0, 1, 2]
    assert all(len(samples) == 3 for samples in got[True].values())


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_generate_on_cuda_without_a_gpu_is_refused_in_one_line(cli, instructions, tmp_path):
    result = cli("generate", "--instructions", instructions, "--model", "x", "--device", "cuda",
                 "--output", tmp_path / "g.json")
    assert result.returncode == 2 and "no CUDA GPU" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "g.json").exists()


def test_generate_reads_the_key_only_from_the_variable_api_key_env_names(monkeypatch):
    """As the judge does: no silent OPENAI_API_KEY when another variable is named; a remote server needs one."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-default")
    monkeypatch.delenv("POLICY_KEY", raising=False)
    with pytest.raises(LookupError, match="POLICY_KEY"):
        make_backend("openai", "m", base_url="https://policy.example/v1", api_key_env="POLICY_KEY")
    monkeypatch.setenv("POLICY_KEY", "sk-policy")
    backend = make_backend("openai", "m", base_url="https://policy.example/v1", api_key_env="POLICY_KEY")
    assert backend.secrets == ("sk-policy",)
    assert make_backend("openai", "m", base_url="http://127.0.0.1:8000/v1", api_key_env="POLICY_KEY").secrets


def test_generate_retries_a_429_as_the_judge_does(tmp_path):
    """One retry policy: a refused request is asked again after its Retry-After, not failed."""
    from sparse_feedback.backends import RetryPolicy

    with FakeSampler() as server:
        backend = make_backend("openai", "m", base_url=server.base_url, retry=RetryPolicy(max_retries=2, backoff=0.01))
        server.fail_next = 1
        records = generate(pd.DataFrame(INSTRUCTIONS[:1]), backend, SamplingConfig(n=2), tmp_path / "g.json")
    assert len(records[0]["responses"]) == 2 and len(server.requests) == 2  # the 429, then the answer
