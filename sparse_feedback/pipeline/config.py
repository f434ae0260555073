"""The pipeline's YAML config as dataclasses: the packaged demo (``data/pipeline_demo.yaml``) gives every
value, a user's file overrides it key by key, and a key no dataclass knows is an error naming it and the file."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path

from sparse_feedback.errors import InputError


def package_file(name: str) -> Path:
    return Path(str(resources.files("sparse_feedback").joinpath("data", name)))


@dataclass
class PolicyConfig:
    """The policy that samples (training responses, best-of-n candidates, the greedy reference)."""

    model: str
    n: int  # samples per training instruction
    max_new_tokens: int
    temperature: float
    top_p: float
    batch_size: int
    backend: str = "transformers"  # or openai (with base_url)
    base_url: str | None = None
    seed: int = 0
    prompt_format: str = "auto"
    tensor_parallel_size: int = 1  # vllm: GPUs the policy is split over
    device: str | None = None  # overrides the top-level device for the policy


@dataclass
class BestOfNConfig:
    n: int  # candidates per held-out instruction


@dataclass
class JudgeConfig:
    """The judge of the feedback and of the evaluations; ``calibrate``: auto, true or false."""

    model: str
    backend: str = "transformers"
    base_url: str | None = None
    calibrate: bool | str = "auto"
    api_key_env: str = "OPENAI_API_KEY"
    device: str | None = None  # overrides the top-level device for a local judge
    batch: bool = False  # the Batch API of base_url (openai backend): about half the price, up to 24 h

    @property
    def calibrated(self) -> bool:
        """auto: calibrate a transformers judge (a small local one scores the answer tokens)."""
        return self.backend == "transformers" if self.calibrate in ("auto", None) else bool(self.calibrate)


@dataclass
class PipelineConfig:
    instructions: str
    train_instructions: int
    heldout_instructions: int
    policy: PolicyConfig
    best_of_n: BestOfNConfig
    reference: str  # "greedy", or an AlpacaEval-format file
    judge: JudgeConfig
    reward: dict = field(default_factory=dict)  # RewardConfig fields (model, max_steps, lora_r, ...)
    device: str = "auto"  # local models (policy, judge, reward): auto = CUDA when present, else cpu

    def stage_device(self, stage: str) -> str:
        """``stage`` (policy, judge or reward) may name its own ``device``; else the top-level one."""
        own = self.reward.get("device") if stage == "reward" else getattr(getattr(self, stage), "device", None)
        return own or self.device

    def to_dict(self) -> dict:
        return asdict(self)


_SECTIONS = {"policy": PolicyConfig, "best_of_n": BestOfNConfig, "judge": JudgeConfig}


def _check_keys(data: dict, source) -> None:
    """Every key is a field of its dataclass (``reward`` keys: of ``RewardConfig``)."""
    from sparse_feedback.reward.config import RewardConfig

    def check(mapping, known, prefix=""):
        for key in mapping:
            if key not in known:
                raise InputError(source, f"unknown key '{prefix}{key}' (known: {', '.join(sorted(known))})")

    check(data, {f.name for f in fields(PipelineConfig)})
    for name, cls in {**_SECTIONS, "reward": RewardConfig}.items():
        section = data.get(name)
        if section is not None and not isinstance(section, dict):
            raise InputError(source, f"'{name}' must be a mapping of settings")
        check(section or {}, {f.name for f in fields(cls)}, f"{name}.")


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _read(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as err:
        raise InputError(path, f"not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping of settings")
    _check_keys(data, path)
    return data


def check_devices(config: PipelineConfig, source="config") -> None:
    """Every stage's device (and the reward model's dtype / 8-bit) is one this machine can run, before any work;
    a choice it cannot do is an error naming the file and the key."""
    from sparse_feedback.device import DeviceError, resolve_device

    reward = config.reward
    checks = {"policy": {}, "judge": {}, "reward": {"dtype": "bfloat16" if reward.get("bf16") else
                                                    reward.get("dtype") or "auto",
                                                    "load_in_8bit": bool(reward.get("load_in_8bit"))}}
    for stage, extra in checks.items():
        if stage != "reward" and getattr(config, stage).backend != "transformers":
            continue  # a server or the vllm engine places its own model
        own = reward.get("device") if stage == "reward" else getattr(config, stage).device
        try:
            resolve_device(str(config.stage_device(stage)), **extra)
        except DeviceError as err:
            raise InputError(source, f"{f'{stage}.device' if own else 'device'}: {err}") from None


def from_dict(data: dict, source="config") -> PipelineConfig:
    """A complete config mapping (as ``config.json`` holds it) → :class:`PipelineConfig`, its devices checked."""
    _check_keys(data, source)
    sections = {name: cls(**data[name]) for name, cls in _SECTIONS.items()}
    try:
        config = PipelineConfig(**{**data, **sections, "reward": dict(data.get("reward") or {})})
    except TypeError as err:
        raise InputError(source, str(err)) from None
    check_devices(config, source)
    return config


def load_config(path=None) -> PipelineConfig:
    """The demo config, overridden key by key by ``path`` (YAML); a bare name means a packaged config."""
    demo = package_file("pipeline_demo.yaml")
    config = _read(demo)
    if path is None:
        return from_dict(config, demo)
    path = Path(path)
    if not path.exists() and package_file(path.name).exists():
        path = package_file(path.name)
    if not path.exists():
        raise InputError(path, "config file not found")
    return from_dict(_merge(config, _read(path)), path)
