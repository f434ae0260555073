"""Where local models run: ``--device auto|cuda|cpu`` resolved once, the same way for every command.

``auto`` is CUDA when a GPU is visible (bfloat16 where the GPU supports it, else float16), otherwise
the CPU in float32. Choices the machine cannot do (CUDA, bf16 or 8-bit weights without a GPU) are refused
with one clear line (:class:`DeviceError`, exit 2), never silently downgraded.

>>> resolve_device("cpu")
Device(type='cpu', dtype='float32')
>>> str(resolve_device("cpu"))
'cpu (float32)'
"""

from __future__ import annotations

from dataclasses import dataclass

from sparse_feedback.errors import SettingsError

DEVICES = ("auto", "cuda", "cpu")
DTYPES = ("auto", "float32", "bfloat16", "float16")


class DeviceError(SettingsError):
    """A device choice this machine cannot honour: a :class:`~sparse_feedback.errors.UserError`, so the CLI prints
    it as one line (exit 2) and the app shows it as one message."""


@dataclass(frozen=True)
class Device:
    """A resolved device: ``type`` is what ``.to()`` takes, ``dtype`` the weights' precision."""

    type: str
    dtype: str

    def __str__(self) -> str:
        return f"{self.type} ({self.dtype})"

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    @property
    def is_cuda(self) -> bool:
        return self.type.startswith("cuda")


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def _bf16_supported() -> bool:
    import torch

    return bool(torch.cuda.is_bf16_supported())


def resolve_device(device: str = "auto", dtype: str = "auto", load_in_8bit: bool = False) -> Device:
    """The device and weight precision for ``device`` (auto, cuda, cuda:N, cpu) and ``dtype``."""
    if device not in DEVICES and not device.startswith("cuda:"):
        raise DeviceError(f"unknown device {device!r}; choose auto, cuda or cpu")
    if dtype not in DTYPES:
        raise DeviceError(f"unknown dtype {dtype!r}; choose {', '.join(DTYPES)}")
    gpu = cuda_available()
    if device.startswith("cuda") and not gpu:
        raise DeviceError(f"--device {device}: no CUDA GPU is visible to torch on this machine; use --device cpu "
                          "or auto")
    kind = ("cuda" if gpu else "cpu") if device == "auto" else device
    if kind == "cpu":
        if load_in_8bit:
            raise DeviceError("8-bit weights (bitsandbytes) need a CUDA GPU; this run is on the CPU")
        if dtype in ("bfloat16", "float16"):
            raise DeviceError(f"{dtype} weights need a CUDA GPU; on the CPU models run in float32")
        return Device("cpu", "float32")
    if dtype == "bfloat16" and not _bf16_supported():
        raise DeviceError("this GPU does not support bfloat16; use --dtype float16 or float32")
    if dtype == "auto":
        dtype = "bfloat16" if _bf16_supported() else "float16"
    return Device(kind, dtype)


def describe(device: Device | None = None) -> str:
    """One line for the app and logs: which device local models use here.

    >>> describe(Device("cpu", "float32"))
    'CPU, float32 (no CUDA GPU found)'
    """
    device = device or resolve_device()
    if not device.is_cuda:
        return "CPU, float32 (no CUDA GPU found)"
    import torch

    index = int(device.type.split(":")[1]) if ":" in device.type else 0
    return f"CUDA GPU {torch.cuda.get_device_name(index)}, {device.dtype} ({torch.cuda.device_count()} visible)"


def auto_note() -> str:
    """What ``auto`` means on this machine, for a device dropdown's help text.

    >>> auto_note().startswith("auto here: ")
    True
    """
    return f"auto here: {describe()}"
