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

PER_PROMPT = 8  # responses packed behind one prompt copy when scoring


class RewardModel:
    """A loaded reward model. ``score`` returns one float per (instruction, input, response)."""

    def __init__(self, model, tokenizer, config: RewardConfig, device):
        from sparse_feedback.reward.collate import PackedCollator

        self.model, self.tokenizer, self.config, self.device = model, tokenizer, config, device
        self.collator = PackedCollator(tokenizer.pad_token_id, config.max_length)

    @property
    def protocol(self) -> str:
        return self.config.protocol

    def score(self, instructions, inputs, responses, batch_size: int = 16, progress=None) -> np.ndarray:
        """Rewards of ``responses`` to ``instructions`` (+ ``inputs``), in input order.

        ``progress``: a ``callback(done, total, desc)``, or True for a terminal progress bar.
        """
        from sparse_feedback.reward.data import response_groups
        from sparse_feedback.reward.model import score_groups
        from sparse_feedback.templates import alpaca_prompt

        table = pd.DataFrame({"instruction": list(instructions), "input": list(inputs), "response": list(responses)})
        if table.empty:
            return np.zeros(0, dtype=np.float32)
        table["input"] = table["input"].fillna("").astype(str)
        table["prompt"] = [alpaca_prompt(i, x) for i, x in zip(table["instruction"], table["input"])]
        groups = response_groups(table, self.tokenizer, per_prompt=PER_PROMPT)
        callback = progress if callable(progress) else None
        with Progress(len(table), "scoring", callback, disable=not progress, unit="response") as bar:
            flat = score_groups(self.model, groups, self.collator, batch_size=batch_size, device=self.device,
                                progress=bar)
        out = np.zeros(len(table), dtype=np.float32)
        out[[i for g in groups for i in g.index]] = flat
        return out


def load_reward_model(model_dir, device=None) -> RewardModel:
    """Load a trained reward model: adapter + score head onto the base named in its config, or a full model.

    The base is loaded by the same name it was trained from, so an alias such as ``smollm2-135m``
    (which may come from a GGUF) works. LoRA weights are merged for faster scoring.
    """
    import torch

    from sparse_feedback.hub import load_sequence_classifier
    from sparse_feedback.reward.model import PackedRewardModel

    model_dir = Path(model_dir)
    if not (model_dir / CONFIG_FILE).exists():
        raise InputError(model_dir, f"not a trained reward model directory (no {CONFIG_FILE})")
    config = RewardConfig.load(model_dir)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if (model_dir / "adapter_config.json").exists():
        from peft import PeftModel

        base, tokenizer = load_sequence_classifier(config.model)
        classifier = PeftModel.from_pretrained(base, str(model_dir)).merge_and_unload()
    else:
        classifier, tokenizer = load_sequence_classifier(str(model_dir))
    model = PackedRewardModel(classifier).to(device).eval()
    return RewardModel(model, tokenizer, config, device)


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
