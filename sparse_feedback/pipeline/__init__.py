"""The whole study in one command, as stages (:mod:`.stages`) over a dataclass config (:mod:`.config`);
:mod:`.run` chains them into a resumable run directory, :mod:`.report` writes its page, :mod:`.cli` is
``sparse-feedback pipeline``."""

from sparse_feedback.lazy import lazy_package

__all__ = lazy_package(__name__, {
    ".config": ["PipelineConfig", "load_config"],
    ".run": ["collect_results", "run_pipeline"],
})
