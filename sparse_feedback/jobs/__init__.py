"""Background jobs on one runner (:mod:`.runner`): reward-model training (:mod:`.training`), best-of-n
(:mod:`.best_of_n`) and LLM judging (:mod:`.llm`). Above the stages and the pipeline, below ``ui``."""
