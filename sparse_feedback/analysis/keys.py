"""Fast row keys: 64-bit hashes of text columns, so joins on long texts stay vectorised."""

from __future__ import annotations

import numpy as np
import pandas as pd


def text_hash(values) -> np.ndarray:
    """uint64 hash of each text value (stable across calls)."""
    return pd.util.hash_array(np.asarray(values, dtype=object), categorize=True)


def combine(*hashes: np.ndarray) -> np.ndarray:
    """Order-sensitive combination of per-column hashes into one key."""
    key = np.zeros(len(hashes[0]), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for h in hashes:
            key = key * np.uint64(1_000_003) ^ h
    return key
