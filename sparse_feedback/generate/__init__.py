"""Sample n responses per instruction from a policy model (transformers locally, or an OpenAI-compatible server)."""

from sparse_feedback.lazy import lazy_package

__all__ = lazy_package(__name__, {
    "sparse_feedback.backends": ["BACKENDS", "make_backend"],
    ".config": ["GenerateConfig", "SamplingConfig"],
    ".run": ["generate", "sidecar_path"],
})
