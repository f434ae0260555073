"""Tiny pure parsers that turn a judge's free-text answer into a rating or a preferred position.

Each returns ``None`` when the answer does not say clearly; the engine then asks again.
"""

from __future__ import annotations

import re

from sparse_feedback.formats.schema import RATING_MAX, RATING_MIN

_LABELLED = re.compile(r"\b(?:rating|score|grade)\b\s*(?:is|of)?\s*[:=]?\s*\**\s*(\d+)", re.I)
_OUT_OF = re.compile(r"\b(\d+)\s*(?:/|out of)\s*7\b", re.I)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.]*\d)")
_LEADING_POSITION = re.compile(r"^\W*(?:output\s*)?\(?\s*([ab])\s*\)?(?![\w'])", re.I)
_POSITION = re.compile(r"\boutput\s*\(?\s*([ab])\s*\)", re.I)
_BOTH = re.compile(r"\s*(?:and|or|&|,|/|vs\.?)\s*(?:output\s*)?\(?\s*[ab]\b", re.I)
_ARTICLE = re.compile(r"^\W*a\s+[a-z]")  # "a bit of both" starts with the article, not a label


def _in_scale(value: str) -> int | None:
    n = int(value)
    return n if RATING_MIN <= n <= RATING_MAX else None


def parse_rating(answer: str) -> int | None:
    """The 1-7 rating an answer gives, or None when it gives none (or several).

    >>> [parse_rating(a) for a in ["6", " 7. ", "Rating: 6", "Score: 6/7", "**Rating:** 3", "I'd give it 5 out of 7."]]
    [6, 7, 6, 6, 3, 5]
    >>> [parse_rating(a) for a in ["Rating: 9", "between 4 and 5", "no idea", "4.5", ""]]
    [None, None, None, None, None]
    """
    text = answer.strip()
    if re.fullmatch(r"\d+\.?", text):
        return _in_scale(text.rstrip("."))
    for pattern in (_LABELLED, _OUT_OF):
        found = {m for m in pattern.findall(text)}
        if len(found) == 1:
            return _in_scale(found.pop())
        if found:
            return None
    numbers = set(_NUMBER.findall(text))
    if len(numbers) == 1 and numbers.issubset({str(n) for n in range(RATING_MIN, RATING_MAX + 1)}):
        return int(numbers.pop())
    return None


def parse_position(answer: str) -> str | None:
    """Which labelled output an answer prefers: ``"(a)"``, ``"(b)"``, or None when unclear.

    >>> [parse_position(a) for a in ["Output (a)", "Output (b) is better because it is concise.", "(b)", "b", "A."]]
    ['(a)', '(b)', '(b)', '(b)', '(a)']
    >>> parse_position("I prefer Output (a)."), parse_position("Output (b) is better than Output (a).")
    ('(a)', '(b)')
    >>> [parse_position(a) for a in ["Output (a) and Output (b) are equally good", "both are fine", "a bit of both"]]
    [None, None, None]
    """
    text = answer.strip()
    leading = _LEADING_POSITION.match(text)
    if leading and not _ARTICLE.match(text):
        return None if _BOTH.match(text, leading.end()) else f"({leading[1].lower()})"
    mentioned = {m.lower() for m in _POSITION.findall(text)}
    return f"({mentioned.pop()})" if len(mentioned) == 1 else None

