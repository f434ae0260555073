"""The shared-prompt attention mask, as each attention implementation wants it, chosen per device.

On a CUDA GPU the packed rows use FlexAttention with a block mask: blocks that no query may see (a
response's siblings) are skipped and nothing of size L x L is materialised, so packing keeps its token
savings. On the CPU, SDPA takes one additive float mask shared by every layer.
"""

from __future__ import annotations

import importlib.util

import torch

ATTENTIONS = ("auto", "sdpa", "flex_attention", "eager")
# FlexAttention's block size. Rows are padded to a multiple of it: fewer compiled shapes, and torch 2.13's
# compiled kernel gives wrong outputs on a partial last block (measured on the CPU: |diff| 2.1 at L=24).
BLOCK = 128


def flex_available(device_type: str) -> bool:
    """FlexAttention is in torch (>= 2.5) and, for its compiled kernels on a GPU, triton is installed."""
    if importlib.util.find_spec("torch.nn.attention.flex_attention") is None:
        return False
    return device_type != "cuda" or importlib.util.find_spec("triton") is not None


def choose_attention(requested: str, device) -> str:
    """The attention implementation for a device: ``auto`` is flex_attention on CUDA (when triton is
    there), SDPA elsewhere.

    >>> choose_attention("auto", torch.device("cpu")), choose_attention("eager", torch.device("cpu"))
    ('sdpa', 'eager')
    """
    if requested not in ATTENTIONS:
        raise ValueError(f"unknown attention {requested!r}; choose {', '.join(ATTENTIONS)}")
    if requested != "auto":
        return requested
    kind = torch.device(device).type
    return "flex_attention" if kind == "cuda" and flex_available(kind) else "sdpa"


def block_causal_mask(segments: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """(batch, 1, L, L) dense mask: causal, and a response attends only to the prompt and itself.

    Boolean (True = may attend; what SDPA takes, and faster there) or, given a ``dtype``, additive
    (0 or the dtype's minimum; what eager attention adds to its scores).

    >>> block_causal_mask(torch.tensor([[0, 1, 1, 2]])).int()[0, 0].tolist()
    [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 1]]
    >>> block_causal_mask(torch.tensor([[0, 1]]), torch.float32)[0, 0].tolist() == [[0, -3.4028234663852886e+38], [0, 0]]
    True
    """
    length = segments.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=segments.device).tril()
    query, key = segments[:, :, None], segments[:, None, :]
    allowed = (causal & ((key == 0) | (key == query)))[:, None]
    if dtype is None:
        return allowed
    return torch.zeros(allowed.shape, dtype=dtype, device=segments.device).masked_fill_(~allowed, torch.finfo(dtype).min)


def block_mask(segments: torch.Tensor):
    """The same rule as a FlexAttention ``BlockMask``: per 128 x 128 block, never a dense L x L tensor on CUDA.

    >>> m = block_mask(torch.tensor([[0, 1, 1, 2] + [-1] * 124]))
    >>> m.to_dense().shape, m.mask_mod(0, 0, torch.tensor(3), torch.tensor(1)).item()
    (torch.Size([1, 1, 1, 1]), False)
    """
    from torch.nn.attention.flex_attention import create_block_mask

    if segments.shape[1] % BLOCK:
        raise ValueError(f"FlexAttention rows must be padded to a multiple of {BLOCK} tokens "
                         f"(PackedCollator(pad_to_multiple_of={BLOCK})); got {segments.shape[1]}")

    def shared_prompt(b, h, q, kv):
        return (kv <= q) & ((segments[b, kv] == 0) | (segments[b, kv] == segments[b, q]))

    batch, length = segments.shape
    return create_block_mask(shared_prompt, batch, None, length, length, device=segments.device,
                             _compile=segments.device.type == "cuda")


def packed_mask(backbone, segments: torch.Tensor):
    """The mask ``backbone``'s attention implementation takes: a BlockMask (flex), else one additive mask in the
    compute dtype. SDPA given a boolean mask converts it to a float copy in every layer and keeps each copy for
    the backward pass (layers x L x L floats per row, quadratic in the row length); a float mask of the query's
    dtype is used as is, so all layers share one."""
    implementation = getattr(backbone.config, "_attn_implementation", "sdpa")
    if implementation == "flex_attention":
        return block_mask(segments)
    device = segments.device.type
    dtype = next(p for p in backbone.parameters() if p.is_floating_point()).dtype
    if torch.is_autocast_enabled(device):
        dtype = torch.get_autocast_dtype(device)
    return block_causal_mask(segments, dtype if dtype.is_floating_point and dtype.itemsize >= 2 else torch.float32)
