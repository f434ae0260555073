"""Build a random-weight Llama checkpoint of a SmolLM2 shape, with the SmolLM2 tokenizer, for benches.

Speed and memory depend on the shape, not on the weights, so GPU figures can be measured where no
weights can be downloaded:

    python bench/make_checkpoint.py --shape 1.7b --out /tmp/smollm2-1.7b-random [--device cuda]
    python bench/make_checkpoint.py --export-tokenizer bench/.tokenizer   # carry this to an offline machine

The shapes are those of the published SmolLM2 configs (HuggingFaceTB/SmolLM2-{135M,360M,1.7B}; the
135m numbers match the local ``smollm2-135m`` checkpoint's config.json, checked by a test).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LOCAL_TOKENIZER = ROOT / "bench" / ".tokenizer"

COMMON = dict(vocab_size=49152, max_position_embeddings=8192, tie_word_embeddings=True, rms_norm_eps=1e-5,
              hidden_act="silu", bos_token_id=1, eos_token_id=2, pad_token_id=2)
SHAPES = {
    "135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                 num_key_value_heads=3, rope_theta=100000.0),
    "360m": dict(hidden_size=960, intermediate_size=2560, num_hidden_layers=32, num_attention_heads=15,
                 num_key_value_heads=5, rope_theta=100000.0),
    "1.7b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, num_attention_heads=32,
                 num_key_value_heads=32, rope_theta=130000.0),
}


def llama_config(shape: str, **overrides):
    """The ``LlamaConfig`` of a named SmolLM2 shape (``overrides`` e.g. shrink it for a dry run)."""
    from transformers import LlamaConfig

    if shape not in SHAPES:
        raise SystemExit(f"unknown shape {shape!r}; choose {', '.join(SHAPES)}")
    values = {**COMMON, **SHAPES[shape], **overrides}
    theta = values.pop("rope_theta")
    config = LlamaConfig(**values)
    config.rope_parameters = {"rope_type": "default", "rope_theta": theta}
    return config


def smollm2_tokenizer(source: str | None = None):
    """The SmolLM2 tokenizer: ``source``, else bench/.tokenizer, else the offline alias ``smollm2-135m``."""
    from transformers import AutoTokenizer

    from sparse_feedback.hub import load_tokenizer

    if source:
        return AutoTokenizer.from_pretrained(source)
    if (LOCAL_TOKENIZER / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(str(LOCAL_TOKENIZER))
    return load_tokenizer("smollm2-135m")


def make_checkpoint(shape: str, out, tokenizer: str | None = None, device: str = "cpu", dtype: str = "bfloat16",
                    seed: int = 0, **overrides) -> Path:
    """Save a random-init ``LlamaForCausalLM`` of ``shape`` and the SmolLM2 tokenizer to ``out``."""
    import torch
    from transformers import LlamaForCausalLM

    out = Path(out)
    config = llama_config(shape, **overrides)
    torch.manual_seed(seed)
    with torch.device(device):  # initialising 1.7B weights is much faster on a GPU
        model = LlamaForCausalLM(config).to(getattr(torch, dtype))
    model.save_pretrained(out)
    smollm2_tokenizer(tokenizer).save_pretrained(out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=list(SHAPES), default="135m")
    parser.add_argument("--out", help="checkpoint directory to write")
    parser.add_argument("--tokenizer", help="tokenizer directory (default: bench/.tokenizer, else smollm2-135m)")
    parser.add_argument("--device", default="cpu", help="where to initialise the weights (cpu or cuda)")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    parser.add_argument("--layers", type=int, help="fewer layers (a quick dry run of the same width)")
    parser.add_argument("--export-tokenizer", metavar="DIR", help="only save the SmolLM2 tokenizer to DIR")
    args = parser.parse_args()
    if args.export_tokenizer:
        smollm2_tokenizer(args.tokenizer).save_pretrained(args.export_tokenizer)
        print(f"saved the SmolLM2 tokenizer to {args.export_tokenizer}")
        return 0
    if not args.out:
        parser.error("--out is required")
    started = time.perf_counter()
    extra = {"num_hidden_layers": args.layers} if args.layers else {}
    make_checkpoint(args.shape, args.out, args.tokenizer, args.device, args.dtype, **extra)
    print(f"saved a random {args.shape} Llama ({args.dtype}) to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
