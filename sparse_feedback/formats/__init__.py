"""Readers, writers and conversions for every feedback format (stage 1 of the data flow)."""

from sparse_feedback.formats.convert import (
    alpaca_eval_records, ranking_tasks, rating_tasks, read_generation, read_instructions, rm_pairs, rm_pairs_seed_json,
    rm_ratings, unfold_inputs,
)
from sparse_feedback.formats.readers import normalize_label, read_raw, read_table
from sparse_feedback.formats.schema import (
    INSTRUCTIONS, LABELS, MODEL_OUTPUTS, RANKING_FEEDBACK, RANKING_TASKS, RATING_FEEDBACK, RATING_TASKS, Kind,
)
from sparse_feedback.formats.writers import (
    MARKER, atomic_path, check_output, check_table_output, claim_dir, infer_format, write_json, write_table,
)


def read_rating_feedback(path, **kw):
    """Rating feedback: ``instruction, input, output, rating`` (rating an int in 1-7)."""
    return read_table(path, RATING_FEEDBACK, **kw)


def read_ranking_feedback(path, **kw):
    """Ranking feedback: ``instruction, input, output1, output2, feedback`` in ``(a)/(b)/equal``."""
    return read_table(path, RANKING_FEEDBACK, **kw)


def read_model_outputs(path, **kw):
    """One output per instruction, AlpacaEval style (``davinci003.json``): ``instruction, input, output`` + extras.
    An input folded into the instruction for AlpacaEval (and kept as ``input``) is taken out again."""
    return unfold_inputs(read_table(path, MODEL_OUTPUTS, **kw))


def read_rating_tasks(path, **kw):
    """Rating tasks: ``instruction, input, response`` (a rating feedback file reads too, keeping ``rating``)."""
    return read_table(path, RATING_TASKS, **kw)


def read_ranking_tasks(path, **kw):
    """Ranking tasks: ``instruction, input, response1, response2`` (ranking feedback keeps ``feedback``)."""
    return read_table(path, RANKING_TASKS, **kw)


__all__ = [
    "INSTRUCTIONS", "LABELS", "MODEL_OUTPUTS", "RANKING_FEEDBACK", "RANKING_TASKS", "RATING_FEEDBACK", "RATING_TASKS", "Kind",
    "MARKER", "alpaca_eval_records", "atomic_path", "check_output", "check_table_output", "claim_dir", "infer_format", "normalize_label",
    "ranking_tasks", "rating_tasks", "read_generation",
    "read_instructions", "read_model_outputs", "read_ranking_feedback", "read_ranking_tasks", "read_rating_feedback",
    "read_rating_tasks", "read_raw", "read_table", "rm_pairs", "rm_pairs_seed_json", "rm_ratings",
    "unfold_inputs", "write_json", "write_table",
]
