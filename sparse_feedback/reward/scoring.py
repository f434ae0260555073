"""Score responses with a trained reward model: the API the best-of-n reranker uses.

Responses to the same instruction share one copy of the prompt in a packed sequence, batches are
sorted by length and padded only to their longest, and everything runs under ``torch.inference_mode``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sparse_feedback.errors import InputError
from sparse_feedback.progress import Progress
from sparse_feedback.reward.config import CONFIG_FILE, RewardConfig

# Responses packed behind one prompt copy, responses and padded tokens per forward pass. A dense mask
# (CPU) costs L x L per row, so rows stay short there; FlexAttention skips masked blocks, and a GPU
# wants big batches.
PER_PROMPT = {"dense": 8, "flex_attention": 32}
BATCH_SIZE = {"cpu": 16, "cuda": 512}
MAX_TOKENS = {"cpu": None, "cuda": 65536}


class RewardModel:
    """A loaded reward model. ``score`` returns one float per (instruction, input, response)."""

    def __init__(self, model, tokenizer, config: RewardConfig, device):
        import torch

        from sparse_feedback.reward.attention import BLOCK
        from sparse_feedback.reward.collate import PackedCollator

        self.model, self.tokenizer, self.config, self.device = model, tokenizer, config, device
        flex = model.classifier.config._attn_implementation == "flex_attention"
        kind = torch.device(device).type
        self.per_prompt = PER_PROMPT["flex_attention" if flex else "dense"]
        self.batch_size, self.max_tokens = BATCH_SIZE.get(kind, 16), MAX_TOKENS.get(kind)
        self.collator = PackedCollator(tokenizer.pad_token_id, config.max_length,
                                       pad_to_multiple_of=BLOCK if flex else None)  # see attention.BLOCK

    @property
    def protocol(self) -> str:
        return self.config.protocol

    def score(self, instructions, inputs, responses, batch_size: int | None = None, progress=None) -> np.ndarray:
        """Rewards of ``responses`` to ``instructions`` (+ ``inputs``), in input order.

        A response's reward is the one it gets alone, whatever else is scored with it; repeated
        (instruction, input, response) rows are scored once. ``batch_size``: responses per forward pass
        (default: 16 on the CPU, 512 on a GPU). ``progress``: a ``callback(done, total, desc)``, or True
        for a terminal progress bar.
        """
        from sparse_feedback.reward.data import response_groups
        from sparse_feedback.reward.model import score_groups
        from sparse_feedback.templates import alpaca_prompt

        table = pd.DataFrame({"instruction": list(instructions), "input": list(inputs), "response": list(responses)})
        if table.empty:
            return np.zeros(0, dtype=np.float32)
        table["input"] = table["input"].fillna("").astype(str)
        table["prompt"] = [alpaca_prompt(i, x) for i, x in zip(table["instruction"], table["input"])]
        # each distinct (prompt, response) is scored once; repeats get the same number
        where, _ = pd.MultiIndex.from_frame(table[["prompt", "response"]].astype(str)).factorize()
        first = np.unique(where, return_index=True)[1]
        distinct = table.iloc[first].reset_index(drop=True)
        groups = response_groups(distinct, self.tokenizer, per_prompt=self.per_prompt)
        callback = progress if callable(progress) else None
        with Progress(len(distinct), "scoring", callback, disable=not progress, unit="response") as bar:
            flat = score_groups(self.model, groups, self.collator, batch_size=batch_size or self.batch_size,
                                device=self.device, progress=bar, max_tokens=self.max_tokens)
        scores = np.zeros(len(distinct), dtype=np.float32)
        scores[[i for g in groups for i in g.index]] = flat
        return scores[where]


def load_reward_model(model_dir, device="auto", attention: str = "auto") -> RewardModel:
    """Load a trained reward model (a folder, or a Hub repo ``OWNER/NAME``): adapter + score head onto the base
    named in its config, or a full model.

    The base is loaded by the same name it was trained from, so an alias such as ``smollm2-135m``
    (which may come from a GGUF) works. LoRA weights are merged for faster scoring. ``device``: auto
    (a CUDA GPU in bf16 where there is one, else the CPU in float32), cuda, cpu, or a resolved
    :class:`~sparse_feedback.device.Device`; ``attention``: auto (FlexAttention on CUDA, SDPA on the CPU).
    """
    from sparse_feedback.device import Device, resolve_device
    from sparse_feedback.hub import load_sequence_classifier
    from sparse_feedback.reward.attention import choose_attention
    from sparse_feedback.reward.hub import hub_model_dir
    from sparse_feedback.reward.model import PackedRewardModel

    model_dir = hub_model_dir(model_dir)  # a Hub repo OWNER/NAME is downloaded once, then loads as a folder
    if not (model_dir / CONFIG_FILE).exists():
        raise InputError(model_dir, f"not a trained reward model directory (no {CONFIG_FILE})")
    config = RewardConfig.load(model_dir)
    device = device if isinstance(device, Device) else resolve_device(str(device or "auto"))
    kwargs = {"dtype": device.torch_dtype, "attn_implementation": choose_attention(attention, device.type)}
    if (model_dir / "adapter_config.json").exists():
        from peft import PeftModel

        base, tokenizer = load_sequence_classifier(config.model, **kwargs)
        classifier = PeftModel.from_pretrained(base, str(model_dir)).merge_and_unload()
    else:
        classifier, tokenizer = load_sequence_classifier(str(model_dir), **kwargs)
    model = PackedRewardModel(classifier.to(device.torch_dtype)).to(device.type).eval()
    return RewardModel(model, tokenizer, config, device.type)


def scorable_table(path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Read a rating or ranking task/feedback file for scoring, every row kept.

    Returns the canonical table, the frame to write (the file's own columns if it has a header) and
    ``{response column: reward column}``: ``response → reward`` or ``response1/2 → reward1/2``.
    """
    from sparse_feedback import formats

    raw = formats.read_raw(path)
    columns = {str(c) for c in raw.frame.columns}
    if raw.has_header:
        pairwise = bool(columns & {"response1", "output1"})
    else:
        width = raw.frame.shape[1]
        last = pd.to_numeric(raw.frame.iloc[:, -1], errors="coerce")
        pairwise = width >= 5 or (width == 4 and not last.between(1, 7).all())
    if pairwise:
        table = formats.read_ranking_tasks(path, dedupe=False)
        rewards = {"response1": "reward1", "response2": "reward2"}
    else:
        table = formats.read_rating_tasks(path, dedupe=False)
        rewards = {"response": "reward"}
    out = raw.frame.copy().reset_index(drop=True) if raw.has_header else table.copy()
    return table, out, rewards
