"""Pack a prompt and all of its responses into ONE sequence, so a pair costs one forward pass and one prompt.

Each response sees the prompt and itself, never its siblings (a block mask built from ``segments``),
and its positions continue from the prompt's, so its score equals the score it would get alone.
Sequences are padded only to the longest in the batch. Truncation cuts the prompt from the left, for
each response exactly as it would be cut if the response were scored alone (responses that need
different cuts go in separate rows), so a score never depends on what it is packed or batched with.
The response is never cut unless it alone exceeds ``max_length`` (then its last tokens are kept).
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


def cut(prompt_len: int, response_len: int, max_length: int) -> tuple[int, int]:
    """(prompt tokens kept, response tokens kept) for one prompt + response alone in ``max_length``.

    The prompt is cut from the left first; the response keeps its last tokens only if it alone is too long.

    >>> cut(5, 2, max_length=4), cut(5, 1, max_length=4), cut(2, 5, max_length=3)
    ((2, 2), (3, 1), (0, 3))
    """
    response_len = min(response_len, max_length)
    return min(prompt_len, max_length - response_len), response_len


def rows(prompt: list[int], responses: list[list[int]], max_length: int) -> list[tuple[list[int], list[int]]]:
    """Split a group into packed rows: responses that get the same prompt cut alone share one prompt copy.

    So a response's input never depends on its neighbours. Returns (prompt kept, response positions) per
    row, responses in order within a row; all responses share one row unless some are long enough to
    need the prompt cut.

    >>> rows([1, 2, 3, 4, 5], [[6, 7], [8], [9, 9]], max_length=4)
    [([4, 5], [0, 2]), ([3, 4, 5], [1])]
    >>> rows([1, 2], [[3], [4]], max_length=8)
    [([1, 2], [0, 1])]
    """
    by_cut: dict[int, list[int]] = {}
    for k, response in enumerate(responses):
        by_cut.setdefault(cut(len(prompt), len(response), max_length)[0], []).append(k)
    return [(prompt[len(prompt) - keep:] if keep else [], members) for keep, members in by_cut.items()]


def row_lengths(group: Group, max_length: int) -> list[int]:
    """Tokens of each of the group's packed rows (a prompt copy, then its responses).

    >>> row_lengths(Group([1, 2, 3, 4, 5], [[6, 7], [8], [9, 9]]), max_length=4)
    [6, 4]
    """
    return [len(prompt) + sum(min(len(group.responses[k]), max_length) for k in members)
            for prompt, members in rows(group.prompt, group.responses, max_length)]


def packed_length(group: Group, max_length: int) -> int:
    """Tokens the group takes once packed (the prompt once per row, then every response)."""
    return sum(row_lengths(group, max_length))


def token_chunks(groups: list[Group], max_length: int, budget: int) -> list[list[int]]:
    """Split groups into micro-batches whose padded size (rows x longest row) stays within ``budget`` tokens.

    Groups are taken longest row first, so a chunk pads little; a group is never split (its pairs' losses need
    its responses in one graph), so one that alone exceeds the budget is a chunk of its own.

    >>> g = [Group([1], [[2] * 5]), Group([1], [[2] * 2]), Group([1], [[2] * 2], ratings=[3]), Group([1], [[2] * 9])]
    >>> token_chunks(g, max_length=16, budget=12)
    [[3], [0, 1], [2]]
    """
    lengths = [row_lengths(g, max_length) for g in groups]
    order = sorted(range(len(groups)), key=lambda i: -max(lengths[i]))
    chunks: list[list[int]] = []
    n_rows = width = 0
    for i in order:
        rows_i, width_i = len(lengths[i]), max(lengths[i])
        if chunks and (n_rows + rows_i) * max(width, width_i) <= budget:
            chunks[-1].append(i)
            n_rows, width = n_rows + rows_i, max(width, width_i)
        else:
            chunks.append([i])
            n_rows, width = rows_i, width_i
    return chunks


@dataclass
class PackedCollator:
    """Groups → padded tensors for :class:`~sparse_feedback.reward.model.PackedRewardModel`.

    A group takes one row per prompt cut (see :func:`rows`). ``segments`` is 0 on the prompt, k on
    response k (1-based) and -1 on padding; ``score_rows`` / ``score_cols`` locate each response's last
    token; ``targets`` are rating targets (NaN without a rating); ``chosen`` / ``rejected`` index the
    batch's response scores for each pair.

    >>> collate = PackedCollator(pad_token_id=0, max_length=4)
    >>> batch = collate([Group([11, 12, 13], [[21, 22], [31]], pairs=[(0, 1)]),
    ...                  Group([14], [[41], [51]], pairs=[(1, 0)])])
    >>> for name, value in batch.items():
    ...     print(name, value.tolist())
    input_ids [[12, 13, 21, 22], [11, 12, 13, 31], [14, 41, 51, 0]]
    position_ids [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 1, 0]]
    segments [[0, 0, 1, 1], [0, 0, 0, 2], [0, 1, 2, -1]]
    score_rows [0, 1, 2, 2]
    score_cols [3, 3, 1, 2]
    targets [nan, nan, nan, nan]
    chosen [0, 3]
    rejected [1, 2]
    >>> PackedCollator(0)([Group([9], [[5], [6]], ratings=[7, 4])])["targets"].tolist()
    [1.0, 0.5]
    """

    pad_token_id: int
    max_length: int = 512
    pad_to_multiple_of: int | None = None

    def __call__(self, groups: list[Group]) -> dict[str, torch.Tensor]:
        rows_ids, rows_pos, rows_seg, score_rows, score_cols, targets, chosen, rejected = ([] for _ in range(8))
        for group in groups:
            first = len(score_cols)  # this group's first response in the batch's score vector
            where = [(0, 0)] * len(group.responses)  # (row, column of the last token) per response
            for prompt, members in rows(group.prompt, group.responses, self.max_length):
                ids, pos, seg = list(prompt), list(range(len(prompt))), [0] * len(prompt)
                for k in members:
                    response = group.responses[k][-self.max_length:]
                    ids += response
                    pos += range(len(prompt), len(prompt) + len(response))
                    seg += [k + 1] * len(response)
                    where[k] = (len(rows_ids), len(ids) - 1)
                rows_ids.append(ids), rows_pos.append(pos), rows_seg.append(seg)
            score_rows += [r for r, _ in where]
            score_cols += [c for _, c in where]
            ratings = group.ratings or [None] * len(group.responses)
            targets += [float("nan") if r is None else rating_target(r) for r in ratings]
            for c, r in group.pairs or ():
                chosen.append(first + c)
                rejected.append(first + r)
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
