"""The table kinds the project reads and writes, with their canonical columns and accepted aliases."""

from __future__ import annotations

from dataclasses import dataclass, field

LABELS = ("(a)", "(b)", "equal")
RATING_MIN, RATING_MAX = 1, 7


@dataclass(frozen=True)
class Kind:
    """A table layout: canonical columns (the headerless order), header aliases and the duplicate key."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    optional: tuple[str, ...] = ("input",)
    # Headerless files may carry these trailing columns too (a feedback file read as tasks).
    extra_positional: tuple[str, ...] = ()

    def names_for(self, column: str) -> tuple[str, ...]:
        return (column, *self.aliases.get(column, ()))


_TEXT_ALIASES = {"instruction": ("prompt_instruction",), "input": ("context",)}

RATING_FEEDBACK = Kind(
    "rating feedback", ("instruction", "input", "output", "rating"), ("instruction", "input", "output"),
    {**_TEXT_ALIASES, "output": ("response",), "rating": ("score",)},
)
RANKING_FEEDBACK = Kind(
    "ranking feedback", ("instruction", "input", "output1", "output2", "feedback"),
    ("instruction", "input", "output1", "output2"),
    {**_TEXT_ALIASES, "output1": ("response1",), "output2": ("response2",), "feedback": ("preference", "label")},
)
RATING_TASKS = Kind(
    "rating tasks", ("instruction", "input", "response"), ("instruction", "input", "response"),
    {**_TEXT_ALIASES, "response": ("output",)}, extra_positional=("rating",),
)
RANKING_TASKS = Kind(
    "ranking tasks", ("instruction", "input", "response1", "response2"),
    ("instruction", "input", "response1", "response2"),
    {**_TEXT_ALIASES, "response1": ("output1",), "response2": ("output2",)}, extra_positional=("feedback",),
)
INSTRUCTIONS = Kind("instructions", ("instruction", "input"), ("instruction", "input"), dict(_TEXT_ALIASES))

KINDS = (RATING_FEEDBACK, RANKING_FEEDBACK, RATING_TASKS, RANKING_TASKS, INSTRUCTIONS)
# Any of these in a first CSV row marks it as a header.
KNOWN_HEADER_NAMES = frozenset(
    n for k in KINDS for c in k.columns for n in k.names_for(c)
) | {"responses", "dataset", "generator", "raw_answer", "chosen", "rejected", "prompt", "reward", "model",
    "raw_answer_ab", "raw_answer_ba", "expected_rating", "position_ab", "position_ba", "error",
    "annotator", "seconds", "shown_order"}  # human annotations (the store's export columns)
