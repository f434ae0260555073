"""--device auto|cuda|cpu: chosen automatically, refusals for what the machine cannot do (GPU mocked)."""

import pytest
import torch

from sparse_feedback.device import Device, DeviceError, describe, resolve_device


@pytest.fixture
def gpu(monkeypatch):
    """A pretend CUDA machine: torch.cuda says a bf16-capable GPU is present."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Fake H200")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_auto_is_cuda_in_bf16_when_a_gpu_is_present(gpu):
    assert resolve_device("auto") == Device("cuda", "bfloat16")
    assert "Fake H200" in describe()


def test_auto_is_fp16_on_a_gpu_without_bf16(gpu, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_device("auto") == Device("cuda", "float16")
    with pytest.raises(DeviceError, match="bfloat16"):
        resolve_device("cuda", dtype="bfloat16")


def test_auto_is_cpu_fp32_without_a_gpu(no_gpu):
    assert resolve_device("auto") == Device("cpu", "float32")
    assert describe().startswith("CPU")


def test_cpu_can_be_forced_on_a_gpu_machine(gpu):
    assert resolve_device("cpu") == Device("cpu", "float32")


@pytest.mark.parametrize("kwargs, match", [
    ({"device": "cuda"}, "no CUDA GPU"),
    ({"device": "cuda:1"}, "no CUDA GPU"),
    ({"dtype": "bfloat16"}, "need a CUDA GPU"),
    ({"dtype": "float16"}, "need a CUDA GPU"),
    ({"load_in_8bit": True}, "8-bit"),
    ({"device": "tpu"}, "unknown device"),
])
def test_choices_the_machine_cannot_do_are_refused_clearly(no_gpu, kwargs, match):
    with pytest.raises(DeviceError, match=match):
        resolve_device(**kwargs)
