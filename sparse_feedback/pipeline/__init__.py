"""The whole study in one command, as stages (:mod:`.stages`) over a dataclass config (:mod:`.config`);
:mod:`.run` chains them into a resumable run directory, :mod:`.report` writes its page, :mod:`.cli` is
``sparse-feedback pipeline``."""

from sparse_feedback.pipeline.config import PipelineConfig, load_config
from sparse_feedback.pipeline.run import collect_results, run_pipeline

__all__ = ["PipelineConfig", "collect_results", "load_config", "run_pipeline"]
