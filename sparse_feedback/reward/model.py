"""The reward model: a one-output sequence classifier (LoRA or full) scored on packed prompt + responses."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from sparse_feedback.errors import InputError
from sparse_feedback.hub import load_sequence_classifier
from sparse_feedback.reward.collate import block_causal_mask


def _parts(classifier) -> tuple[nn.Module, nn.Module]:
    """(backbone, score head) of a sequence classifier, through a peft wrapper if there is one."""
    inner = classifier.get_base_model() if hasattr(classifier, "get_base_model") else classifier
    return getattr(inner, inner.base_model_prefix), inner.score


class PackedRewardModel(nn.Module):
    """Scores every response of a packed batch in one forward pass (see ``collate.PackedCollator``).

    Wraps the classifier so one ``forward`` goes through DDP/accelerate; the head is applied only at
    the responses' last tokens.
    """

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, input_ids, position_ids, segments, score_rows, score_cols, **_) -> torch.Tensor:
        backbone, head = _parts(self.classifier)
        hidden = backbone(input_ids=input_ids, attention_mask=self._mask(backbone, segments),
                          position_ids=position_ids, use_cache=False).last_hidden_state
        return head(hidden[score_rows, score_cols]).squeeze(-1).float()


    @staticmethod
    def _mask(backbone, segments) -> torch.Tensor:
        """Boolean for SDPA; additive in the compute dtype for eager attention."""
        if getattr(backbone.config, "_attn_implementation", "sdpa") == "sdpa":
            return block_causal_mask(segments)
        device = segments.device.type
        dtype = next(p for p in backbone.parameters() if p.is_floating_point()).dtype
        if torch.is_autocast_enabled(device):
            dtype = torch.get_autocast_dtype(device)
        return block_causal_mask(segments, dtype if dtype.is_floating_point and dtype.itemsize >= 2 else torch.float32)


def build_classifier(config, cuda: bool):
    """The trainable classifier for a config: LoRA adapters plus a fully trained score head, or ``--full``."""
    kwargs = {}
    if config.load_in_8bit:
        if cuda and not config.full:
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
        else:
            warnings.warn("--load-in-8bit needs a GPU and LoRA; loading full-precision weights instead")
    try:
        classifier, tokenizer = load_sequence_classifier(config.model, **kwargs)
    except (OSError, ValueError) as err:  # no such model or path, or not a causal LM
        raise InputError(config.model, f"cannot load the base model ({str(err).splitlines()[0]})") from None
    if kwargs:
        from peft import prepare_model_for_kbit_training

        classifier = prepare_model_for_kbit_training(
            classifier, use_gradient_checkpointing=config.gradient_checkpointing)
    if config.gradient_checkpointing:
        classifier.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if not config.full:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(task_type="SEQ_CLS", r=config.lora_r, lora_alpha=config.lora_alpha,
                          lora_dropout=config.lora_dropout, target_modules=config.lora_target_list,
                          modules_to_save=["score"])
        classifier = get_peft_model(classifier, lora)
    return classifier, tokenizer


@torch.inference_mode()
def score_groups(model: PackedRewardModel, groups, collator, batch_size: int = 16, device=None,
                 progress=None) -> list[float]:
    """Scores of every response of every group, in group order; batches of similar packed length.

    ``batch_size`` counts responses; ``progress`` is a :class:`~sparse_feedback.progress.Progress` or None.
    """
    from sparse_feedback.reward.collate import packed_length

    device = device or next(model.parameters()).device
    order = sorted(range(len(groups)), key=lambda g: -packed_length(groups[g], collator.max_length))
    out: list[list[float]] = [[] for _ in groups]
    batch, count = [], 0

    def flush():
        if not batch:
            return
        tensors = collator([groups[g] for g in batch])
        scores = model(**{k: v.to(device) for k, v in tensors.items()}).tolist()
        for g in batch:
            n = len(groups[g].responses)
            out[g], scores = scores[:n], scores[n:]
        if progress is not None:
            progress.update(sum(len(groups[g].responses) for g in batch))
        batch.clear()

    for g in order:
        n = len(groups[g].responses)
        if batch and count + n > batch_size:
            flush()
            count = 0
        batch.append(g)
        count += n
    flush()
    return [s for scores in out for s in scores]
