"""The reward-model training configuration: one dataclass that is also the CLI's argument set.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_arguments(parser)
>>> args = parser.parse_args(["--train", "f.csv", "--output-dir", "out", "--lora-r", "8", "--full"])
>>> config = RewardConfig.from_args(args, protocol="rankings")
>>> config.lora_r, config.full, config.lora_target_list, config.max_length
(8, True, ['q_proj', 'v_proj'], 512)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from sparse_feedback import config as cli_config

PROTOCOLS = ("ratings", "rankings")
CONFIG_FILE = "reward_config.json"


_arg = cli_config.arg


@dataclass
class RewardConfig:
    """Everything a reward-model run depends on; saved next to the model as ``reward_config.json``."""

    protocol: str = _arg("ratings or rankings", default="rankings", meta={"cli": False})
    train: str = _arg("training feedback: rating/ranking feedback, TRL prompt/chosen/rejected pairs or seed JSON",
                      default="", meta={"required": True})
    output_dir: str = _arg("where the model, checkpoints, log.jsonl and eval_results.json go", default="",
                           meta={"required": True})
    eval: str | None = _arg("evaluation feedback (same kinds as --train)", default=None)
    eval_split: float = _arg("share of instructions held out for evaluation when no --eval is given",
                             default=0.1)
    cross_eval: str | None = _arg("feedback of the OTHER protocol for cross-protocol accuracy "
                                  "(instructions seen in training are left out)", default=None)
    model: str = _arg("base causal LM: hub name, local path or the alias smollm2-135m", default="smollm2-135m")
    epochs: float = _arg("passes over the training data", default=1.0)
    max_steps: int = _arg("stop after this many optimizer steps (overrides --epochs when > 0)", default=0)
    batch_size: int = _arg("packed sequences per device and micro-batch: one prompt with up to "
                           "--responses-per-prompt of its responses (a single pair when pairs share no prompt)",
                           default=8)
    grad_accum: int = _arg("micro-batches per optimizer step", default=1)
    lr: float = _arg("peak learning rate (linear warm-up then linear decay)", default=1e-4)
    weight_decay: float = _arg("AdamW weight decay", default=0.0)
    max_grad_norm: float = _arg("clip the gradient norm to this (0: no clipping)", default=1.0)
    warmup_ratio: float = _arg("share of steps spent warming up the learning rate", default=0.03)
    max_length: int = _arg("tokens of prompt + response; the prompt is cut from the left, never the response",
                           default=512)
    margin: float = _arg("rankings: margin in -log sigmoid(r_chosen - r_rejected - margin)", default=0.0)
    responses_per_prompt: int = _arg("distinct responses of one prompt packed behind one copy of it (ratings: "
                                     "rated responses; rankings: the responses of its pairs, each scored once)",
                                     default=4)
    lora_r: int = _arg("LoRA rank", default=32)
    lora_alpha: int = _arg("LoRA alpha (scale = alpha / r)", default=64)
    lora_dropout: float = _arg("LoRA dropout", default=0.05)
    lora_targets: str = _arg("comma-separated module names that get LoRA adapters", default="q_proj,v_proj")
    full: bool = _arg("fine-tune every weight instead of LoRA", default=False)
    gradient_checkpointing: bool = _arg("recompute activations in the backward pass for every micro-batch (less "
                                        "memory; measured 5-10 percent slower on the CPU); without it only a group "
                                        "of responses that alone exceeds --max-batch-tokens is recomputed",
                                        default=False)
    max_batch_tokens: int = _arg("padded tokens per forward/backward pass: a step's batch is run in passes of at "
                                 "most this many, so memory is bounded whatever the lengths (0: 1024 on the CPU, "
                                 "what fits in 60 percent of the free memory on a GPU)", default=0)
    memory_limit_gb: float = _arg("refuse, before a step runs, one that would take this process past this many GB "
                                  "(0: the machine's available memory)", default=0.0)
    device: str = _arg("auto (a CUDA GPU where there is one, else the CPU), cuda or cpu", default="auto")
    dtype: str = _arg("compute precision: auto (bfloat16 on a GPU that supports it, else float16; float32 on the "
                      "CPU), float32, bfloat16 or float16 (the last two need a GPU)", default="auto",
                      meta={"choices": ["auto", "float32", "bfloat16", "float16"]})
    bf16: bool = _arg("same as --dtype bfloat16 (refused without a GPU)", default=False)
    attention: str = _arg("attention for the packed rows: auto (FlexAttention block mask on CUDA, SDPA with one "
                          "additive mask on the CPU), flex_attention, sdpa or eager", default="auto",
                          meta={"choices": ["auto", "flex_attention", "sdpa", "eager"]})
    load_in_8bit: bool = _arg("8-bit frozen base weights via bitsandbytes (GPU and LoRA only; bitsandbytes must "
                              "be installed)", default=False)
    seed: int = _arg("random seed for the split, the batch order and the initialisation", default=42)
    save_steps: int = _arg("also checkpoint every N optimizer steps (0: only at each epoch end)", default=0)
    eval_steps: int = _arg("also evaluate every N optimizer steps (0: only at each epoch end)", default=0)
    logging_steps: int = _arg("write a log.jsonl line every N optimizer steps", default=1)
    save_total_limit: int = _arg("checkpoints kept (oldest deleted first)", default=2)
    resume: bool = _arg("continue from the last checkpoint in --output-dir", default=False)
    report_to: str = _arg("also log to tensorboard or wandb (when installed)", default="none",
                          meta={"choices": ["none", "tensorboard", "wandb"]})

    @property
    def lora_target_list(self) -> list[str]:
        return [t.strip() for t in self.lora_targets.split(",") if t.strip()]

    @classmethod
    def from_args(cls, args: argparse.Namespace, **overrides) -> "RewardConfig":
        return cli_config.from_args(cls, args, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, directory) -> Path:
        path = Path(directory) / CONFIG_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, directory) -> "RewardConfig":
        data = json.loads((Path(directory) / CONFIG_FILE).read_text())
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--option`` per config field (``lora_r`` → ``--lora-r``), help and default from the dataclass."""
    cli_config.add_arguments(parser, RewardConfig)
