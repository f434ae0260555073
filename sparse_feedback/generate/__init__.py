"""Sample n responses per instruction from a policy model (transformers locally, or an OpenAI-compatible server)."""

from sparse_feedback.backends import BACKENDS, make_backend
from sparse_feedback.generate.config import GenerateConfig, SamplingConfig
from sparse_feedback.generate.run import generate, sidecar_path

__all__ = ["BACKENDS", "GenerateConfig", "SamplingConfig", "generate", "make_backend", "sidecar_path"]
