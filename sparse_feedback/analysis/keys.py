"""Fast row keys: 64-bit hashes of text columns, so joins on long texts stay vectorised."""

from __future__ import annotations

import numpy as np
import pandas as pd

LABELS_INDEX = pd.Index(["(a)", "(b)", "equal"])  # label codes 0, 1, 2 (the order of formats.LABELS)


def text_hash(values) -> np.ndarray:
    """uint64 key of each text value: equal texts, equal keys.

    Python's own string hash: computed in C and cached on each string, about twice as fast as
    ``pd.util.hash_array``. It is salted per process, so keys compare within one run only: never store them.

    >>> a, b = text_hash(["x", "y", "x"]), text_hash(["x"])
    >>> bool(a[0] == a[2] == b[0]), bool(a[0] == a[1])
    (True, False)
    >>> bool(text_hash([float("nan")])[0] == text_hash([""])[0])
    True
    """
    items = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
    try:  # str.__hash__ refuses anything but text, so the usual all-text column needs no separate check
        return np.fromiter(map(str.__hash__, items), dtype=np.int64, count=len(items)).view(np.uint64)
    except TypeError:
        pass
    # NaN never equals itself: a missing text is the empty string, as the readers make it.
    items = np.where(pd.isna(items), "", items).astype(object)
    return np.fromiter(map(hash, items), dtype=np.int64, count=len(items)).view(np.uint64)


def combine(*hashes: np.ndarray) -> np.ndarray:
    """Order-sensitive combination of per-column hashes into one key; it nests, so a (context, response)
    key can be built from a context key.

    >>> a, b, c = (np.array([n], dtype=np.uint64) for n in (11, 22, 33))
    >>> bool(combine(combine(a, b), c)[0] == combine(a, b, c)[0]), bool(combine(a, b)[0] == combine(b, a)[0])
    (True, False)
    """
    key = np.zeros(len(hashes[0]), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for h in hashes:
            key = key * np.uint64(1_000_003) ^ h
    return key


def first_index(keys: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    """A lookup index over the first occurrence of each key, and the positions those came from.

    >>> index, positions = first_index(np.array([7, 5, 7], dtype=np.uint64))
    >>> index.tolist(), positions.tolist()
    ([7, 5], [0, 1])
    """
    index = pd.Index(keys)
    if index.is_unique:  # the usual case; the hash table built here also serves the lookups
        return index, np.arange(len(keys))
    positions = np.flatnonzero(~index.duplicated(keep="first"))
    return pd.Index(keys[positions]), positions


def first_positions(keys: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each key, in order (duplicates: the first counts)."""
    return np.flatnonzero(~pd.Series(keys).duplicated(keep="first").to_numpy())


def label_codes(labels) -> np.ndarray:
    """Feedback labels as codes 0 ``(a)``, 1 ``(b)``, 2 ``equal``; an unknown label is a ValueError.

    >>> label_codes(["equal", "(a)", "(b)"]).tolist()
    [2, 0, 1]
    """
    labels = labels.to_numpy(dtype=object) if isinstance(labels, pd.Series) else np.asarray(labels, dtype=object)
    codes = np.full(len(labels), -1, dtype=np.int64)
    for code, label in enumerate(LABELS_INDEX):  # three vectorised comparisons beat a hash lookup per row
        codes[labels == label] = code
    if (codes < 0).any():
        bad = labels[np.flatnonzero(codes < 0)[0]]
        raise ValueError(f"unknown feedback label {bad!r}; expected one of {', '.join(LABELS_INDEX)}")
    return codes
