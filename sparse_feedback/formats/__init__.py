"""Readers, writers and conversions for every feedback format (stage 1 of the data flow)."""

from sparse_feedback.lazy import lazy_package

__all__ = lazy_package(__name__, {
    ".convert": ["alpaca_eval_records", "ranking_tasks", "rating_tasks", "read_generation", "read_instructions",
                 "read_model_outputs", "read_ranking_feedback", "read_ranking_tasks", "read_rating_feedback",
                 "read_rating_tasks", "rm_pairs", "rm_pairs_seed_json", "rm_ratings", "unfold_inputs"],
    ".readers": ["normalize_label", "read_raw", "read_table"],
    ".schema": ["INSTRUCTIONS", "LABELS", "MODEL_OUTPUTS", "RANKING_FEEDBACK", "RANKING_TASKS", "RATING_FEEDBACK",
                "RATING_TASKS", "Kind"],
    ".writers": ["MARKER", "atomic_path", "check_output", "check_table_output", "claim_dir", "infer_format",
                 "seed_columns", "write_json", "write_table"],
})
