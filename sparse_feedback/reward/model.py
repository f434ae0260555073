"""The reward model: a one-output sequence classifier (LoRA or full) scored on packed prompt + responses."""

from __future__ import annotations

import importlib.util

import torch
from torch import nn

from sparse_feedback.device import Device, DeviceError
from sparse_feedback.errors import InputError
from sparse_feedback.hub import load_sequence_classifier
from sparse_feedback.reward.attention import packed_mask


def _parts(classifier) -> tuple[nn.Module, nn.Module]:
    """(backbone, score head) of a sequence classifier, through a peft wrapper if there is one."""
    inner = classifier.get_base_model() if hasattr(classifier, "get_base_model") else classifier
    return getattr(inner, inner.base_model_prefix), inner.score


class PackedRewardModel(nn.Module):
    """Scores every response of a packed batch in one forward pass (see ``collate.PackedCollator``).

    Wraps the classifier so one ``forward`` goes through DDP/accelerate; the head is applied only at
    the responses' last tokens. The shared-prompt mask takes the form the backbone's attention
    implementation wants (``attention.packed_mask``).
    """

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, input_ids, position_ids, segments, score_rows, score_cols, **_) -> torch.Tensor:
        backbone, head = _parts(self.classifier)
        hidden = backbone(input_ids=input_ids, attention_mask=packed_mask(backbone, segments),
                          position_ids=position_ids, use_cache=False).last_hidden_state
        return head(hidden[score_rows, score_cols]).squeeze(-1).float()


def set_checkpointing(model: nn.Module, on: bool) -> None:
    """Recompute (``on``) or keep the decoder layers' activations in the next training passes."""
    from transformers.modeling_layers import GradientCheckpointingLayer

    for module in model.modules():
        if isinstance(module, GradientCheckpointingLayer):
            module.gradient_checkpointing = on


def check_8bit(config) -> None:
    """8-bit base weights: LoRA only, and bitsandbytes installed (the CPU is refused by ``resolve_device``)."""
    if not config.load_in_8bit:
        return
    if config.full:
        raise DeviceError("--load-in-8bit trains LoRA adapters on frozen 8-bit weights; drop --full")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise DeviceError("--load-in-8bit needs the bitsandbytes package (pip install bitsandbytes)")


def build_classifier(config, device: Device, attention: str = "sdpa"):
    """The trainable classifier for a config: LoRA adapters plus a fully trained score head, or ``--full``.

    On a GPU a LoRA run loads the frozen base in the device's dtype (bf16) and keeps the trained weights in
    float32; a full fine-tune keeps float32 weights under autocast.
    """
    check_8bit(config)
    # float32 unless a frozen LoRA base on a GPU (a checkpoint saved in bf16 would otherwise load as bf16)
    frozen_low = device.is_cuda and not config.full
    kwargs = {"attn_implementation": attention, "dtype": device.torch_dtype if frozen_low else torch.float32}
    if config.load_in_8bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    try:
        classifier, tokenizer = load_sequence_classifier(config.model, **kwargs)
    except (OSError, ValueError) as err:  # no such model or path, or not a causal LM
        raise InputError(config.model, f"cannot load the base model ({str(err).splitlines()[0]})") from None
    if config.load_in_8bit:
        from peft import prepare_model_for_kbit_training

        classifier = prepare_model_for_kbit_training(
            classifier, use_gradient_checkpointing=config.gradient_checkpointing)
    # Checkpointing is set up always and switched per micro-batch (see set_checkpointing): only a group too large
    # for the token budget pays for the recompute, unless --gradient-checkpointing asks it for every one.
    enable = getattr(classifier, "activation_checkpointing_enable", None)
    if enable is not None:
        enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:  # transformers < 5
        classifier.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    set_checkpointing(classifier, config.gradient_checkpointing)
    if not config.full:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(task_type="SEQ_CLS", r=config.lora_r, lora_alpha=config.lora_alpha,
                          lora_dropout=config.lora_dropout, target_modules=config.lora_target_list,
                          modules_to_save=["score"])
        classifier = get_peft_model(classifier, lora)
    for param in classifier.parameters():  # trained weights (adapters, score head) in float32
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()
    return classifier, tokenizer


@torch.inference_mode()
def score_groups(model: PackedRewardModel, groups, collator, batch_size: int = 16, device=None,
                 progress=None, max_tokens: int | None = None) -> list[float]:
    """Scores of every response of every group, in group order; batches of similar packed length.

    A batch holds at most ``batch_size`` responses and, when given, about ``max_tokens`` padded tokens;
    ``progress`` is a :class:`~sparse_feedback.progress.Progress` or None.
    """
    from sparse_feedback.reward.collate import packed_length

    device = device or next(model.parameters()).device
    lengths = [packed_length(g, collator.max_length) for g in groups]
    order = sorted(range(len(groups)), key=lambda g: -lengths[g])
    out: list[list[float]] = [[] for _ in groups]
    batch: list[int] = []

    def flush():
        tensors = collator([groups[g] for g in batch])
        scores = model(**{k: v.to(device) for k, v in tensors.items()}).tolist()
        for g in batch:
            n = len(groups[g].responses)
            out[g], scores = scores[:n], scores[n:]
        if progress is not None:
            progress.update(sum(len(groups[g].responses) for g in batch))
        batch.clear()

    for g in order:  # longest first, so the first group of a batch sets its width
        responses = sum(len(groups[i].responses) for i in batch) + len(groups[g].responses)
        tokens = (len(batch) + 1) * (lengths[batch[0]] if batch else lengths[g])
        if batch and (responses > batch_size or (max_tokens and tokens > max_tokens)):
            flush()
        batch.append(g)
    if batch:
        flush()
    return [s for scores in out for s in scores]
