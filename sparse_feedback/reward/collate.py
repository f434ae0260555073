"""Pack a prompt and all of its responses into ONE sequence, so a pair costs one forward pass and one prompt.

Each response sees the prompt and itself, never its siblings (a block mask built from ``segments``),
and its positions continue from the prompt's, so its score equals the score it would get alone.
Sequences are padded only to the longest in the batch. Truncation cuts the prompt from the left; the
response is never cut unless it alone exceeds ``max_length`` (then its last tokens are kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Group:
    """A prompt's token ids and the distinct responses scored behind one copy of it.

    Ratings: ``ratings`` holds each response's 1-7 rating. Rankings: ``pairs`` holds (chosen, rejected)
    positions in ``responses``, so a response shared by several pairs is scored once. ``index`` maps
    each response (ratings) or pair (rankings) back to a row of the source table.
    """

    prompt: list[int]
    responses: list[list[int]]
    ratings: list[int] | None = None
    pairs: list[tuple[int, int]] | None = None
    index: list[int] | None = None


def fit(prompt: list[int], responses: list[list[int]], max_length: int) -> tuple[list[int], list[list[int]]]:
    """Make every prompt + response fit ``max_length``: cut the prompt from the left first.

    >>> fit([1, 2, 3, 4, 5], [[6, 7], [8]], max_length=4)
    ([4, 5], [[6, 7], [8]])
    >>> fit([1, 2], [[3, 4, 5, 6, 7]], max_length=3)
    ([], [[5, 6, 7]])
    """
    longest = max((len(r) for r in responses), default=0)
    keep = max(0, max_length - longest)
    prompt = prompt[len(prompt) - keep:] if keep < len(prompt) else prompt
    return prompt, [r[-max_length:] for r in responses]


def packed_length(group: Group, max_length: int) -> int:
    """Tokens the group takes once packed (prompt once, then every response)."""
    prompt, responses = fit(group.prompt, group.responses, max_length)
    return len(prompt) + sum(len(r) for r in responses)


@dataclass
class PackedCollator:
    """Groups → padded tensors for :class:`~sparse_feedback.reward.model.PackedRewardModel`.

    ``segments`` is 0 on the prompt, k on response k (1-based) and -1 on padding; ``score_rows`` /
    ``score_cols`` locate each response's last token; ``targets`` are rating targets (NaN without a
    rating); ``chosen`` / ``rejected`` index the batch's response scores for each pair.

    >>> collate = PackedCollator(pad_token_id=0, max_length=4)
    >>> batch = collate([Group([11, 12, 13], [[21, 22], [31]], pairs=[(0, 1)]),
    ...                  Group([14], [[41], [51], [61]], pairs=[(2, 0), (2, 1)])])
    >>> for name, value in batch.items():
    ...     print(name, value.tolist())
    input_ids [[12, 13, 21, 22, 31], [14, 41, 51, 61, 0]]
    position_ids [[0, 1, 2, 3, 2], [0, 1, 1, 1, 0]]
    segments [[0, 0, 1, 1, 2], [0, 1, 2, 3, -1]]
    score_rows [0, 0, 1, 1, 1]
    score_cols [3, 4, 1, 2, 3]
    targets [nan, nan, nan, nan, nan]
    chosen [0, 4, 4]
    rejected [1, 2, 3]
    >>> PackedCollator(0)([Group([9], [[5], [6]], ratings=[7, 4])])["targets"].tolist()
    [1.0, 0.5]
    """

    pad_token_id: int
    max_length: int = 512
    pad_to_multiple_of: int | None = None

    def __call__(self, groups: list[Group]) -> dict[str, torch.Tensor]:
        rows_ids, rows_pos, rows_seg, score_rows, score_cols, targets, chosen, rejected = ([] for _ in range(8))
        for row, group in enumerate(groups):
            prompt, responses = fit(group.prompt, group.responses, self.max_length)
            first = len(score_cols)  # this group's first response in the batch's score vector
            ids, pos, seg = list(prompt), list(range(len(prompt))), [0] * len(prompt)
            for k, response in enumerate(responses, start=1):
                ids += response
                pos += range(len(prompt), len(prompt) + len(response))
                seg += [k] * len(response)
                score_rows.append(row)
                score_cols.append(len(ids) - 1)
            ratings = group.ratings or [None] * len(responses)
            targets += [float("nan") if r is None else rating_target(r) for r in ratings]
            for c, r in group.pairs or ():
                chosen.append(first + c)
                rejected.append(first + r)
            rows_ids.append(ids), rows_pos.append(pos), rows_seg.append(seg)
        width = max(len(r) for r in rows_ids)
        if self.pad_to_multiple_of:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        pad = lambda rows, value: [r + [value] * (width - len(r)) for r in rows]  # noqa: E731
        return {
            "input_ids": torch.tensor(pad(rows_ids, self.pad_token_id)),
            "position_ids": torch.tensor(pad(rows_pos, 0)),
            "segments": torch.tensor(pad(rows_seg, -1)),
            "score_rows": torch.tensor(score_rows),
            "score_cols": torch.tensor(score_cols),
            "targets": torch.tensor(targets, dtype=torch.float32),
            "chosen": torch.tensor(chosen, dtype=torch.long),
            "rejected": torch.tensor(rejected, dtype=torch.long),
        }


def rating_target(rating: int) -> float:
    """A 1-7 rating as the [0, 1] target of sigmoid(score).

    >>> [rating_target(r) for r in (1, 4, 7)]
    [0.0, 0.5, 1.0]
    """
    return (rating - 1) / 6


def block_causal_mask(segments: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """(batch, 1, L, L) mask: causal, and a response attends only to the prompt and itself.

    Boolean (True = may attend; what SDPA takes, and faster there) or, given a ``dtype``, additive
    (0 or the dtype's minimum; what eager attention adds to its scores).

    >>> block_causal_mask(torch.tensor([[0, 1, 1, 2]])).int()[0, 0].tolist()
    [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 1]]
    >>> block_causal_mask(torch.tensor([[0, 1]]), torch.float32)[0, 0].tolist() == [[0, -3.4028234663852886e+38], [0, 0]]
    True
    """
    length = segments.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=segments.device).tril()
    query, key = segments[:, :, None], segments[:, None, :]
    allowed = (causal & ((key == 0) | (key == query)))[:, None]
    if dtype is None:
        return allowed
    return torch.zeros(allowed.shape, dtype=dtype, device=segments.device).masked_fill_(~allowed, torch.finfo(dtype).min)


def length_grouped_batches(lengths, batch_size: int, seed: int, mega: int = 32) -> list[list[int]]:
    """Random batches of similar length: shuffle, sort within chunks of ``mega`` batches, shuffle batches.

    Deterministic for a seed, so a resumed run replays the same order and skips what it has done.

    >>> batches = length_grouped_batches([5, 50, 6, 49, 7, 48], batch_size=2, seed=0)
    >>> sorted(sorted(b) for b in batches)
    [[0, 2], [1, 3], [4, 5]]
    """
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths)
    order = rng.permutation(len(lengths))
    chunk = batch_size * mega
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        part = part[np.argsort(-lengths[part], kind="stable")]
        batches += [part[i:i + batch_size].tolist() for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]
