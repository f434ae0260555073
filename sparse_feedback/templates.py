"""The Alpaca prompt template, shared by export, reward training, reranking and generation.

A chat-tuned policy (SmolLM2-Instruct, ...) samples better inside its own chat template, so
:func:`policy_prompt` can wrap the same instruction as one user turn instead (``prompt_format="chat"``,
or ``"auto"``: chat when the tokenizer has a chat template). Reward models always see the Alpaca prompt.

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


PROMPT_FORMATS = ("auto", "alpaca", "chat")


def user_message(instruction: str, input: str = "") -> str:
    """The user turn for a chat model: the instruction, then the input after a blank line.

    >>> user_message("Add the numbers.", "2, 3")
    'Add the numbers.\\n\\n2, 3'
    """
    return f"{instruction}\n\n{input}" if input else instruction


def uses_chat(tokenizer, prompt_format: str = "auto") -> bool:
    """Whether ``prompt_format`` means the chat template for this tokenizer (``auto``: when it has one)."""
    if prompt_format not in PROMPT_FORMATS:
        raise ValueError(f"prompt format {prompt_format!r} is not one of {', '.join(PROMPT_FORMATS)}")
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if prompt_format == "chat" and not has_template:
        raise ValueError("prompt format 'chat' needs a tokenizer with a chat template")
    return prompt_format == "chat" or (prompt_format == "auto" and has_template)


def policy_prompt(instruction: str, input: str = "", tokenizer=None, prompt_format: str = "alpaca") -> str:
    """The text a policy continues: the Alpaca prompt, or the user turn in the tokenizer's chat template."""
    if tokenizer is None or not uses_chat(tokenizer, prompt_format):
        return alpaca_prompt(instruction, input)
    messages = [{"role": "user", "content": user_message(instruction, input)}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
