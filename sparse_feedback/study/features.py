"""Frozen response features for the budget simulation, computed once per response (never per seed).

``model``: the last-token hidden state of a causal LM (the reward model's backbone, e.g. ``smollm2-135m``) on
the Alpaca prompt + response, cut from the left to ``max_length`` tokens, so the end of the response stays;
``hashed``: a fixed bag of hashed words plus log length, for machines where a forward pass per response is
too slow.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

FEATURES = ("model", "hashed")


def hashed_features(texts, dims: int = 256) -> np.ndarray:
    """Counts of each word's CRC32 bucket (log1p), plus log characters and log words: stable across runs.

    >>> f = hashed_features(["a b b", "a b b"], dims=8)
    >>> f.shape, bool((f[0] == f[1]).all())
    ((2, 10), True)
    """
    out = np.zeros((len(texts), dims + 2))
    for row, text in enumerate(texts):
        words = re.findall(r"\w+", str(text).lower())
        for word in words:
            out[row, zlib.crc32(word.encode()) % dims] += 1
        out[row, dims], out[row, dims + 1] = np.log1p(len(str(text))), np.log1p(len(words))
    out[:, :dims] = np.log1p(out[:, :dims])
    return out


def model_features(instructions, inputs, responses, model: str = "smollm2-135m", max_length: int = 512,
                   batch_size: int = 8, progress=None) -> np.ndarray:
    """The last hidden state at the last token of each prompt + response (float32, CPU or the given model's
    default device). ``progress``: a ``callback(done, total, desc)``."""
    import torch

    from sparse_feedback.hub import load_causal_lm
    from sparse_feedback.templates import prompt_and_response

    lm, tokenizer = load_causal_lm(model)
    texts = ["".join(prompt_and_response(i, x or "", r)) for i, x, r in zip(instructions, inputs, responses)]
    order = np.argsort([len(t) for t in texts])
    out = np.zeros((len(texts), lm.config.hidden_size), dtype=np.float32)
    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            batch = tokenizer([texts[i] for i in rows], return_tensors="pt", padding=True, truncation=True,
                              max_length=max_length)
            hidden = lm.model(**batch).last_hidden_state  # left padding: the last position is each text's end
            out[rows] = hidden[:, -1].float().numpy()
            if progress:
                progress(min(start + batch_size, len(texts)), len(texts), "features")
    return out
