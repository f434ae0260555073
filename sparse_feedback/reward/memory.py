"""How much memory a training micro-batch takes, how much the machine has, and the token budget between them.

Training memory is dominated by the activations autograd keeps for the backward pass: a fixed number of floats
per token and layer (the MLP's gate/up/activation outputs, attention's queries, keys, values and output, the
norms' inputs). So a pass costs ``tokens x bytes_per_token``, and a step never holds more than one pass's
activations: bounding the padded tokens of a pass (``--max-batch-tokens``) bounds the step's memory, whatever
the sequence lengths. A group of responses that alone exceeds the budget (its pairs' losses need one graph)
runs with activation checkpointing: only each layer's input is kept, and memory still grows linearly with
its tokens. The one quadratic term, the L x L shared-prompt mask, exists once per row for all layers
(``attention.packed_mask``), not as a copy per layer.

The constant (2.0 MB per token for SmolLM2-135M in float32 without checkpointing) was measured on the CPU;
``bench/bench_train.py --data seed-full`` prints the measured peaks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sparse_feedback.errors import SettingsError

# Floats kept per token per layer, in units of (3 x intermediate + 10 x hidden): what autograd saves (measured with
# saved-tensor hooks), times the backward pass's transient gradients and the allocator's slack (RSS / saved = 1.7).
SAVED_PER_LAYER = 1.7
CPU_TOKENS = 1024  # the CPU's default budget: the measured speed no longer rises past it (bench_train --budgets)
GPU_SHARE = 0.6    # of the free GPU memory, for the default budget on a GPU
MIN_TOKENS = 256
GB = 2**30


@dataclass(frozen=True)
class Shape:
    """The bytes one token costs in a training micro-batch of a model, from its config."""

    layers: int
    hidden: int
    intermediate: int
    dtype_bytes: int = 4

    @classmethod
    def of(cls, model_config, dtype_bytes: int = 4) -> "Shape":
        config = getattr(model_config, "text_config", None) or model_config
        return cls(config.num_hidden_layers, config.hidden_size, config.intermediate_size, dtype_bytes)

    def per_token(self, checkpointed: bool = False) -> float:
        """Activation bytes per token: every layer's, or with checkpointing each layer's input plus one layer's.

        >>> round(Shape(30, 576, 1536).per_token() / 2**20, 2), round(Shape(30, 576, 1536).per_token(True) / 2**10)
        (2.02, 273)
        """
        layer = SAVED_PER_LAYER * (3 * self.intermediate + 10 * self.hidden) * self.dtype_bytes
        if checkpointed:  # the layers' inputs and their gradients, and one layer recomputed at a time
            return 2 * self.layers * self.hidden * self.dtype_bytes + 2 * layer
        return self.layers * layer

    def micro_batch(self, rows: int, width: int, checkpointed: bool = False) -> float:
        """Bytes a (rows x width) padded micro-batch adds at its peak: activations plus the one additive mask
        all layers share (and the boolean one it is made from)."""
        return rows * width * (self.per_token(checkpointed) + width * (1 + self.dtype_bytes))


def rss() -> int:
    """This process's resident memory in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cgroup_room() -> int | None:
    """What a cgroup v2 memory limit still allows, when the process runs under one."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None


def free_bytes(device_type: str = "cpu", limit_gb: float = 0) -> int | None:
    """Bytes this process may still allocate: the machine's available memory (or the GPU's free memory), the
    cgroup's room, and ``limit_gb`` (a cap on the process's whole RSS) when given; None when unknown."""
    if device_type == "cuda":
        import torch

        return int(torch.cuda.mem_get_info()[0])
    room = [r for r in (_meminfo_available(), _cgroup_room()) if r is not None]
    if limit_gb:
        room.append(int(limit_gb * GB) - rss())
    return max(0, min(room)) if room else None


def default_budget(shape: Shape, device_type: str, free: int | None) -> int:
    """Padded tokens per micro-batch when ``--max-batch-tokens`` is 0: on the CPU a fixed 1,024 (speed is flat
    past it, and memory stays a few GB); on a GPU what fits in 60 % of its free memory. Never more than fits
    in the free memory.

    >>> default_budget(Shape(30, 576, 1536), "cpu", free=20 * GB), default_budget(Shape(30, 576, 1536), "cpu", 1 * GB)
    (1024, 256)
    """
    fits = MIN_TOKENS if free is None else int(GPU_SHARE * free // shape.per_token())
    tokens = min(CPU_TOKENS, fits) if device_type != "cuda" else fits
    return max(MIN_TOKENS, tokens // MIN_TOKENS * MIN_TOKENS)


def check_fits(need: float, free: int | None, what: str, advice: str) -> None:
    """Refuse in one line, before it runs, work whose estimated ``need`` exceeds 90 % of the ``free`` bytes."""
    if free is not None and need > 0.9 * free:
        raise SettingsError(f"{what} would need about {need / GB:.1f} GB more memory but {free / GB:.1f} GB is free; "
                            f"{advice}")


def tree_rss(pid: int) -> int:
    """Resident bytes of process ``pid`` and all of its descendants (what the system's out-of-memory killer
    weighs), read from /proc; 0 once it is gone."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, todo, page = 0, [pid], os.sysconf("SC_PAGE_SIZE")
    while todo:
        current = todo.pop()
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
        todo += children.get(current, [])
    return total


class PeakTreeRSS:
    """Samples :func:`tree_rss` of a process every ``every`` seconds in a thread; ``peak`` is the largest seen.

    Used by the benchmarks and the memory tests: ``with PeakTreeRSS(proc.pid) as watch: proc.wait()``.
    """

    def __init__(self, pid: int, every: float = 0.1):
        import threading

        self.pid, self.every, self.peak = pid, every, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._done.wait(self.every)

    def __enter__(self) -> "PeakTreeRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
