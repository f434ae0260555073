"""Bounds on every field a client chooses, checked before any work: one clear refusal, never a 20 MB id.

Names (projects, users, models) are one printable line of at most 200 characters; submit ids are short
tokens; free text (guidelines, comments) may span lines but has a size cap and no NUL or other control bytes;
flags come from a fixed list.
"""

from __future__ import annotations

import re
import unicodedata

from sparse_feedback.errors import UserError


class StoreError(UserError, ValueError):
    """A request the store refuses (unknown project, task already answered, ...); safe to show a user."""


NAME_MAX = 200  # users.name, projects.name, annotator and source_model columns
SUBMIT_ID_MAX = 100  # annotations.submit_id
TEXT_MAX = 100_000  # a guideline in markdown
COMMENT_MAX = 2_000  # an annotator's comment on one answer
FLAGS = ("unclear", "harmful", "bad-response")  # what an annotator may flag on any item, in stored order
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]+")
_TEXT_CONTROLS = {"\n", "\r", "\t"}


def _bad_char(value: str, allowed: set[str]) -> str | None:
    for ch in value:
        if ch not in allowed and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            return ch
    return None


def check_name(field: str, value, max_len: int = NAME_MAX) -> str:
    """A name: a non-empty string of at most ``max_len`` characters, no control characters; stripped.

    >>> check_name("project", "  demo ")
    'demo'
    >>> check_name("project", "a\\x00b")
    Traceback (most recent call last):
    ...
    sparse_feedback.store.limits.StoreError: project must not contain control characters (found '\\x00')
    """
    if not isinstance(value, str):
        raise StoreError(f"{field} must be text")
    value = value.strip()
    if not value:
        raise StoreError(f"{field} must not be empty")
    if len(value) > max_len:
        raise StoreError(f"{field} is too long ({len(value):,} characters; at most {max_len})")
    if (ch := _bad_char(value, set())) is not None:
        raise StoreError(f"{field} must not contain control characters (found {ch!r})")
    return value


def check_text(field: str, value, max_len: int = TEXT_MAX) -> str:
    """Free text (lines allowed) of at most ``max_len`` characters, without NUL or other control bytes."""
    if not isinstance(value, str):
        raise StoreError(f"{field} must be text")
    if len(value) > max_len:
        raise StoreError(f"{field} is too long ({len(value):,} characters; at most {max_len:,})")
    if (ch := _bad_char(value, _TEXT_CONTROLS)) is not None:
        raise StoreError(f"{field} must not contain control characters (found {ch!r})")
    return value


def check_submit_id(value) -> str | None:
    """An idempotency key: at most 100 letters, digits and ``_.:-``; None stays None.

    >>> check_submit_id("3f2a-9")
    '3f2a-9'
    >>> check_submit_id("x" * 101)
    Traceback (most recent call last):
    ...
    sparse_feedback.store.limits.StoreError: submit id is too long (101 characters; at most 100)
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise StoreError("submit id must be text")
    if len(value) > SUBMIT_ID_MAX:
        raise StoreError(f"submit id is too long ({len(value):,} characters; at most {SUBMIT_ID_MAX})")
    if not _TOKEN.fullmatch(value):
        raise StoreError("submit id may hold only letters, digits and _ . : -")
    return value


def check_flags(value) -> str:
    """Flags on an answer, from :data:`FLAGS` (a list, or one comma-separated string), stored as one string in
    the order of :data:`FLAGS`; ``bad response`` may be spelled with a space.

    >>> check_flags(["harmful", "unclear", "harmful"]), check_flags("bad response"), check_flags(None)
    ('unclear,harmful', 'bad-response', '')
    >>> check_flags(["spam"])
    Traceback (most recent call last):
    ...
    sparse_feedback.store.limits.StoreError: unknown flag 'spam': flags are unclear, harmful, bad-response
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or len(value) > 10 * len(FLAGS):
        raise StoreError("flags must be a list of names")
    picked = set()
    for flag in value:
        if not isinstance(flag, str) or len(flag) > 50:
            raise StoreError("flags must be a list of names")
        name = flag.strip().lower().replace(" ", "-")
        if name and name not in FLAGS:
            raise StoreError(f"unknown flag {flag.strip()[:50]!r}: flags are {', '.join(FLAGS)}")
        picked.add(name)
    return ",".join(f for f in FLAGS if f in picked)


def check_comment(value) -> str:
    """An optional comment on one answer: at most :data:`COMMENT_MAX` characters, stripped; None is empty."""
    return "" if value is None else check_text("comment", value, COMMENT_MAX).strip()


STRATEGIES = ("random", "disagreement", "uncertainty", "coverage")  # a project's queue strategy (store.queue)


def check_strategy(name: str) -> str:
    """A queue strategy's name, or a StoreError naming the choices.

    >>> check_strategy("coverage")
    'coverage'
    """
    if name not in STRATEGIES:
        raise StoreError(f"strategy must be one of {', '.join(STRATEGIES)}, not {name!r}")
    return name
