"""What a judge run will cost before it is sent (``--dry-run``), and a budget it may not pass (``--max-cost``).

Prompt tokens are counted with ``tiktoken`` when it is installed and has the model's encoding, else
estimated from characters (about four per token), and the estimate says which. Prices are US dollars per
million tokens, from ``--price-in``/``--price-out`` or a prices file the user can edit.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

from sparse_feedback.errors import InputError
from sparse_feedback.settings import home

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4  # tokens each chat message adds around its content


def token_counter(model: str) -> tuple[Callable[[str], int], str]:
    """(count(text) -> tokens, how it counts): tiktoken's encoding for ``model``, else a character estimate."""
    try:
        import tiktoken

        try:
            encoding = tiktoken.encoding_for_model(model)
        except KeyError:
            encoding = tiktoken.get_encoding("o200k_base")
        return (lambda text: len(encoding.encode(text, disallowed_special=()))), f"tiktoken {encoding.name}"
    except Exception:  # not installed, or its encoding file cannot be fetched offline
        return (lambda text: math.ceil(len(text) / CHARS_PER_TOKEN)), \
            f"character estimate, {CHARS_PER_TOKEN} characters a token (install tiktoken to count exactly)"


def prompt_tokens(messages, count: Callable[[str], int]) -> int:
    """Tokens a chat request's messages take.

    >>> prompt_tokens([{"role": "user", "content": "x" * 40}], lambda t: len(t) // 4)
    17
    """
    return 3 + sum(MESSAGE_OVERHEAD + count(m["content"]) for m in messages)


@dataclass(frozen=True)
class Prices:
    """Dollars per million input and output tokens; ``None`` when unknown.

    >>> Prices(0.15, 0.60).cost(1_000_000, 100_000), Prices(0.15, 0.60).cost(1_000_000, 100_000, batch=True)
    (0.21, 0.105)
    """

    input: float | None
    output: float | None
    batch_discount: float = 0.5
    source: str = "--price-in/--price-out"

    @property
    def known(self) -> bool:
        return self.input is not None and self.output is not None

    def cost(self, prompt: int, completion: int, batch: bool = False) -> float | None:
        if not self.known:
            return None
        dollars = (prompt * self.input + completion * self.output) / 1e6
        return round(dollars * (self.batch_discount if batch else 1.0), 10)


def prices_file(path=None) -> Path:
    """``path``, else ``judge_prices.json`` under the data home when the user made one, else the packaged list."""
    if path is not None:
        return Path(path)
    user = home() / "judge_prices.json"
    return user if user.exists() else Path(str(resources.files("sparse_feedback.judge").joinpath("prices.json")))


def load_prices(model: str, path=None, price_in: float | None = None, price_out: float | None = None) -> Prices:
    """Prices for ``model``: the command-line figures win, else the prices file's entry (if any)."""
    file = prices_file(path)
    try:
        table = json.loads(file.read_text("utf-8"))
        entry = table.get("models", {}).get(model, {})
        discount = float(table.get("batch_discount", 0.5))
    except (OSError, ValueError, AttributeError) as err:
        raise InputError(file, f"cannot read the prices file: {err}") from None
    if price_in is not None or price_out is not None:
        return Prices(price_in, price_out, discount)
    return Prices(entry.get("input"), entry.get("output"), discount, str(file))


@dataclass
class Estimate:
    """What a run would send: the figures ``--dry-run`` prints."""

    tasks: int
    cached: int
    requests: int
    prompt_tokens: int
    max_completion_tokens: int | None
    method: str
    prices: Prices
    batch: bool = False

    def lines(self, model: str) -> list[str]:
        out = self.max_completion_tokens
        shown = "unknown (no --max-tokens)" if out is None else f"at most {out:,}"
        lines = [f"dry run (nothing sent): {model}" + (" through the Batch API" if self.batch else ""),
                 f"tasks:                 {self.tasks:,}",
                 f"tasks already cached:  {self.cached:,}",
                 f"requests to send:      {self.requests:,}",
                 f"prompt tokens:         {self.prompt_tokens:,} ({self.method})",
                 f"completion tokens:     {shown}"]
        if not self.prices.known:
            lines.append("cost:                  unknown: give --price-in and --price-out, or add the model to "
                         f"{prices_file()}")
        else:
            live = self.prices.cost(self.prompt_tokens, out or 0)
            batch = self.prices.cost(self.prompt_tokens, out or 0, batch=True)
            lines.append(f"cost:                  {'at most ' if out else ''}${live:.4f} live, ${batch:.4f} batch "
                         f"(${self.prices.input:g} in / ${self.prices.output:g} out per million tokens, "
                         f"batch at {self.prices.batch_discount:g}x; {self.prices.source})")
        return lines


def estimate(kind: str, tasks, backend, cache, proto, prices: Prices, batch: bool = False) -> Estimate:
    """Count what the cache lacks and what sending it would cost; sends nothing."""
    from sparse_feedback.judge.batch import pending_questions

    questions, result = pending_questions(kind, tasks, backend, cache, proto)
    count, method = token_counter(backend.model)
    tokens = sum(prompt_tokens(m, count) for m in questions.values())
    max_tokens = backend.params.get("max_tokens")
    return Estimate(len(tasks), result.stats.cached, len(questions), tokens,
                    max_tokens * len(questions) if max_tokens else None, method, prices, batch)


class Budget:
    """``--max-cost``: a request is sent only if what was spent, plus what is in flight, plus its own
    estimate (prompt tokens and ``max_tokens``) stays within ``max_cost``; spending uses reported usage."""

    def __init__(self, max_cost: float, prices: Prices, model: str, max_tokens: int | None, batch: bool = False):
        if not prices.known:
            raise ValueError("--max-cost needs prices: give --price-in and --price-out, or add the model to "
                             f"{prices_file()}")
        self.max_cost, self.prices, self.batch = max_cost, prices, batch
        self.count, _ = token_counter(model)
        self.max_tokens = max_tokens or 0
        self.spent = 0.0
        self.reserved = 0.0
        self._lock = threading.Lock()

    def _estimate(self, messages) -> float:
        return self.prices.cost(prompt_tokens(messages, self.count), self.max_tokens, self.batch)

    def reserve(self, messages) -> float | None:
        """The amount held for this request, or None when sending it could pass the budget."""
        cost = self._estimate(messages)
        with self._lock:
            if self.spent + self.reserved + cost > self.max_cost:
                return None
            self.reserved += cost
            return cost

    def settle(self, reserved: float, usage) -> None:
        """The request came back (``usage`` None when it failed before the server counted it)."""
        with self._lock:
            self.reserved -= reserved
            self.spent += self.prices.cost(*usage, self.batch) if usage else 0.0

    def fit(self, questions: dict) -> tuple[dict, list]:
        """Batch questions that fit the budget, and the keys of those that do not (reserved until the run ends)."""
        keep, over = {}, []
        for key, messages in questions.items():
            (keep.__setitem__(key, messages) if self.reserve(messages) is not None else over.append(key))
        return keep, over
