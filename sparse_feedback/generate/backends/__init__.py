"""Generation backends behind one call: ``backend.generate(items, config, on_result)``.

``items`` is a list of ``(index, instruction, input)``; the backend calls ``on_result(index, responses)``
as soon as an instruction's samples are ready, so the caller can persist them one by one.
"""

from __future__ import annotations

from typing import Callable, Protocol

from sparse_feedback.generate.config import SamplingConfig

Item = tuple[int, str, str]
OnResult = Callable[[int, list[str]], None]
BACKENDS = ("transformers", "openai")


class GenerationError(RuntimeError):
    """A backend could not produce samples (server refused or unreachable); finished instructions are kept."""


class Backend(Protocol):
    name: str

    def generate(self, items: list[Item], config: SamplingConfig, on_result: OnResult) -> None: ...


def make_backend(kind: str, model: str, base_url: str | None = None, api_key: str | None = None,
                 max_retries: int = 5) -> Backend:
    """The backend for ``kind``; heavy libraries are imported here, not at module import."""
    if kind == "transformers":
        from sparse_feedback.generate.backends.transformers import TransformersBackend

        return TransformersBackend(model)
    if kind == "openai":
        from sparse_feedback.generate.backends.openai import OpenAIBackend

        return OpenAIBackend(model, base_url=base_url, api_key=api_key, max_retries=max_retries)
    raise ValueError(f"unknown backend {kind!r}; choose from {', '.join(BACKENDS)}")
