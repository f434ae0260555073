"""The two feedback protocols as the judge sees them: a prompt template, the answers, a parser.

Templates are text files (``prompts/ratings.txt``, ``prompts/rankings.txt``) with ``{name}`` fields;
only the protocol's own field names are filled in, so any other braces in a template stay as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

from sparse_feedback.errors import InputError
from sparse_feedback.judge.parse import parse_position, parse_rating

EMPTY_INPUT = "(none)"


@dataclass(frozen=True)
class JudgeProtocol:
    """``name`` is ``ratings`` or ``rankings``; ``choices`` are the answers a scoring backend picks from."""

    name: str
    template: str
    fields: tuple[str, ...]
    choices: tuple[str, ...]
    parse: Callable[[str], object]

    def messages(self, **values: str) -> list[dict]:
        """The chat messages for one question.

        >>> p = protocol("ratings", template_text="Q: {instruction} [{input}] A: {response} {other}")
        >>> p.messages(instruction="Add.", input="", response="5")[0]["content"]
        'Q: Add. [(none)] A: 5 {other}'
        """
        values = {**values, "input": values.get("input") or EMPTY_INPUT}
        pattern = re.compile(r"\{(" + "|".join(self.fields) + r")\}")
        return [{"role": "user", "content": pattern.sub(lambda m: values[m[1]], self.template)}]


_SPECS = {
    "ratings": (("instruction", "input", "response"), tuple(str(n) for n in range(1, 8)), parse_rating),
    "rankings": (("instruction", "input", "output_a", "output_b"), ("Output (a)", "Output (b)"), parse_position),
}


def protocol(name: str, template_path=None, template_text: str | None = None) -> JudgeProtocol:
    """The protocol ``name`` with the packaged prompt, or one from ``template_path`` (checked for its fields)."""
    fields, choices, parser = _SPECS[name]
    if template_text is None and template_path is not None:
        path = Path(template_path)
        if not path.is_file():
            raise InputError(path, "prompt template not found")
        template_text = path.read_text("utf-8")
        missing = [f for f in fields if "{" + f + "}" not in template_text]
        if missing:
            raise InputError(path, f"the {name} prompt template lacks the field(s) "
                             + ", ".join("{" + f + "}" for f in missing))
    if template_text is None:
        template_text = resources.files("sparse_feedback.judge").joinpath("prompts", f"{name}.txt").read_text("utf-8")
    return JudgeProtocol(name, template_text, fields, choices, parser)
