"""The Alpaca prompt template, shared by export, reward training, reranking and generation.

>>> print(alpaca_prompt("Add the numbers.", "2, 3"))
Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.
<BLANKLINE>
### Instruction:
Add the numbers.
<BLANKLINE>
### Input:
2, 3
<BLANKLINE>
### Response:
>>> alpaca_prompt("Say hi.").endswith("### Instruction:\\nSay hi.\\n\\n### Response:")
True
"""

from __future__ import annotations

_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
)
_NO_INPUT = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:"
)


def alpaca_prompt(instruction: str, input: str = "") -> str:
    """The prompt a policy or reward model sees for an instruction (and optional input)."""
    template = _WITH_INPUT if input else _NO_INPUT
    return template.format(instruction=instruction, input=input)


def prompt_and_response(instruction: str, input: str, response: str) -> tuple[str, str]:
    """Prompt text and the response text appended to it (leading space, like Alpaca's training data)."""
    return alpaca_prompt(instruction, input), " " + response.strip()
