"""The pipeline config's ``device`` (top-level or per stage): checked before any work, the file named."""

import pytest
import torch

from sparse_feedback.cli import main
from sparse_feedback.device import Device, resolve_device
from sparse_feedback.errors import InputError
from sparse_feedback.pipeline import load_config


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def _config(tmp_path, text):
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_auto_resolves_to_the_cpu_here_for_every_stage(no_gpu):
    config = load_config()
    assert config.device == "auto"
    for stage in ("policy", "judge", "reward"):
        assert resolve_device(config.stage_device(stage)) == Device("cpu", "float32")


def test_cuda_without_a_gpu_is_refused_naming_the_file(tmp_path, no_gpu):
    path = _config(tmp_path, "device: cuda\n")
    with pytest.raises(InputError, match=r"study\.yaml: device: .*no CUDA GPU"):
        load_config(path)


@pytest.mark.parametrize("text, key", [("judge:\n  device: cuda\n", "judge.device"),
                                       ("reward:\n  device: cuda\n", "reward.device"),
                                       ("reward:\n  bf16: true\n", "device"),
                                       ("reward:\n  load_in_8bit: true\n", "device")])
def test_a_stage_choice_the_machine_cannot_do_is_refused_naming_the_key(tmp_path, no_gpu, text, key):
    with pytest.raises(InputError, match=rf"study\.yaml: {key}: "):
        load_config(_config(tmp_path, text))


def test_a_stage_device_overrides_the_top_level_one(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    config = load_config(_config(tmp_path, "device: cuda\njudge:\n  device: cpu\nreward:\n  device: cpu\n"))
    assert [config.stage_device(s) for s in ("policy", "judge", "reward")] == ["cuda", "cpu", "cpu"]


def test_a_server_judge_needs_no_local_device(tmp_path, no_gpu):
    path = _config(tmp_path, "judge:\n  backend: openai\n  base_url: http://127.0.0.1:1/v1\n  device: cuda\n")
    assert load_config(path).judge.backend == "openai"


def test_cli_device_cuda_is_refused_before_any_work(tmp_path, no_gpu, capsys):
    out = tmp_path / "run"
    assert main(["pipeline", "--output-dir", str(out), "--device", "cuda"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err
    assert not out.exists()
