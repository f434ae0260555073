"""What the judge returns: one ``Rating`` or ``PairJudgement`` per task, run counts and position bias."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence, Union

import pandas as pd


@dataclass
class Rating:
    """A rating task and its outcome; ``rating`` is None when the task failed (``error`` says why)."""

    index: int
    instruction: str
    input: str
    output: str
    rating: int | None
    raw_answer: str | None
    model: str
    cached: bool = False
    error: str | None = None
    expected_rating: float | None = None  # from choice probabilities (local backend)

    @property
    def answered(self) -> bool:
        return self.rating is not None


@dataclass
class PairJudgement:
    """A pair judged in both orders: ``ab`` shows (output1, output2), ``ba`` the swap; positions are (a)/(b)."""

    index: int
    instruction: str
    input: str
    output1: str
    output2: str
    feedback: str | None
    raw_answer_ab: str | None
    raw_answer_ba: str | None
    model: str
    position_ab: str | None = None
    position_ba: str | None = None
    cached: bool = False
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.feedback is not None


Judgement = Union[Rating, PairJudgement]


@dataclass(frozen=True)
class PositionBias:
    """How often the two orders of a pair disagree, and which shown position the judge then picked.

    >>> b = position_bias([("(a)", "(b)"), ("(a)", "(a)"), ("(a)", "(a)"), ("(b)", "(b)")])
    >>> b.disagree_share, b.first_won, b.second_won
    (0.75, 2, 1)
    """

    pairs: int
    disagree: int
    first_won: int
    second_won: int

    @property
    def disagree_share(self) -> float:
        return self.disagree / self.pairs if self.pairs else 0.0

    def __str__(self) -> str:
        return (f"position bias: {self.disagree}/{self.pairs} pairs ({100 * self.disagree_share:.1f} %) "
                f"disagree between orders; the first position won {self.first_won}, "
                f"the second {self.second_won}")


def position_bias(positions: Sequence[tuple[str, str]]) -> PositionBias:
    """From the (ab, ba) positions of answered pairs: the same position twice means the orders disagree."""
    first = sum(1 for ab, ba in positions if ab == ba == "(a)")
    second = sum(1 for ab, ba in positions if ab == ba == "(b)")
    return PositionBias(len(positions), first + second, first, second)


@dataclass
class RunStats:
    """Counts for the summary line; ``requests`` counts every request sent, retries included."""

    total: int = 0
    answered: int = 0
    cached: int = 0
    failed: int = 0
    requests: int = 0
    prompt_tokens: int = 0  # usage reported by the server for this run's requests (cache hits cost nothing)
    completion_tokens: int = 0
    cost: float | None = None  # money spent on those tokens, when prices are known

    def add_usage(self, usage) -> None:
        if usage:
            self.prompt_tokens += usage[0]
            self.completion_tokens += usage[1]

    @property
    def tokens_line(self) -> str:
        """``tokens: 1,200 in / 40 out, $0.0002`` (cost left out when no price is known)."""
        cost = "" if self.cost is None else f", ${self.cost:.4f}"
        return f"tokens: {self.prompt_tokens:,} in / {self.completion_tokens:,} out{cost}"

    def add(self, judgement: Judgement) -> None:
        self.answered += judgement.answered
        self.failed += not judgement.answered
        self.cached += judgement.answered and judgement.cached


_FEEDBACK_COLUMNS = {
    "ratings": ["instruction", "input", "output", "rating", "raw_answer", "model", "expected_rating"],
    "rankings": ["instruction", "input", "output1", "output2", "feedback", "raw_answer_ab", "raw_answer_ba",
                 "model", "position_ab", "position_ba"],
}
_SEED_COLUMNS = {"ratings": 4, "rankings": 5}
_FAILED_COLUMNS = {
    "ratings": ["instruction", "input", "output", "raw_answer", "error"],
    "rankings": ["instruction", "input", "output1", "output2", "raw_answer_ab", "raw_answer_ba", "error"],
}


@dataclass
class JudgeResult:
    """All judgements of a run in input order, with counts and (for rankings) position bias."""

    protocol: str
    judgements: list[Judgement]
    stats: RunStats
    position_bias: PositionBias | None = None
    extras: dict = field(default_factory=dict)

    def feedback(self, seed: bool = False) -> pd.DataFrame:
        """Answered tasks as a feedback table; ``seed=True`` keeps only the original's columns."""
        columns = _FEEDBACK_COLUMNS[self.protocol]
        rows = [asdict(j) for j in self.judgements if j.answered]
        frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else columns)[columns]
        if self.protocol == "ratings":
            frame["rating"] = frame["rating"].astype("int64")
            if frame["expected_rating"].isna().all():
                frame = frame.drop(columns="expected_rating")
        return frame.iloc[:, :_SEED_COLUMNS[self.protocol]] if seed else frame

    def failed(self) -> pd.DataFrame:
        rows = [asdict(j) for j in self.judgements if not j.answered]
        columns = _FAILED_COLUMNS[self.protocol]
        return pd.DataFrame(rows, columns=list(rows[0]) if rows else columns)[columns]

    def summary(self) -> str:
        s = self.stats
        line = (f"judge {self.protocol}: {s.answered}/{s.total} answered ({s.cached} from cache), "
                f"{s.failed} failed, {s.requests} requests sent; {s.tokens_line}")
        return line + (f"\n{self.position_bias}" if self.position_bias else "")
