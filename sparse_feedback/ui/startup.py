"""The settings ``python app.py`` reads at start, checked before the store is opened or anything is served: a bad
one is one line naming the variable (and the entry), exit 2, never a traceback.

Forwarded addresses: uvicorn rewrites the client address from ``X-Forwarded-For`` before the app sees it, by
default for any peer on loopback, so anything on the host could pose as any address. Only the proxies named in
``$SPARSE_FEEDBACK_TRUSTED_PROXIES`` are believed (none by default; on a Space, the private networks the Space's
own proxy connects from), and of their header the address nearest to them that is not itself a trusted proxy.
"""

from __future__ import annotations

import ipaddress
import os

from sparse_feedback.errors import InputError

FLAGS = {"": False, "0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}
SPACE_PROXIES = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"


def flag(variable: str) -> bool:
    """An on/off setting: 1/true/yes or 0/false/no (unset: off).

    >>> os.environ["SF_DOCTEST_FLAG"] = "Yes"; flag("SF_DOCTEST_FLAG")
    True
    """
    value = os.environ.get(variable, "").strip().lower()
    if value not in FLAGS:
        raise InputError(variable, f"expected 1 or 0 (true/false, yes/no), not {value!r}")
    return FLAGS[value]


def number(variable: str, default: float, low: float, high: float | None = None, whole: bool = True) -> float:
    """A numeric setting within [low, high] (unset or empty: ``default``)."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        span = f"{low:g} to {high:g}" if high is not None else f"at least {low:g}"
        raise InputError(variable, f"expected {'a whole' if whole else 'a'} number {span}, not {raw!r}")
    return value


def on_space() -> bool:
    return os.environ.get("SYSTEM") == "spaces" and bool(os.environ.get("SPACE_ID"))


def trusted_proxies() -> str:
    """``$SPARSE_FEEDBACK_TRUSTED_PROXIES``: comma-separated addresses or networks (CIDR) of the proxies whose
    ``X-Forwarded-For`` is believed; empty by default, the private networks on a Space.

    >>> os.environ["SPARSE_FEEDBACK_TRUSTED_PROXIES"] = " 127.0.0.1, 10.0.0.0/8 "; trusted_proxies()
    '127.0.0.1,10.0.0.0/8'
    >>> del os.environ["SPARSE_FEEDBACK_TRUSTED_PROXIES"]
    """
    raw = os.environ.get("SPARSE_FEEDBACK_TRUSTED_PROXIES")
    if raw is None:
        raw = SPACE_PROXIES if on_space() else ""
    entries = [e.strip() for e in raw.split(",") if e.strip()]
    for n, entry in enumerate(entries):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise InputError("SPARSE_FEEDBACK_TRUSTED_PROXIES", f"{entry!r} is not an IP address or network",
                             where=f"entry {n + 1}") from None
    return ",".join(entries)


def trust_proxies() -> None:
    """Make uvicorn believe ``X-Forwarded-For`` from the trusted proxies only (it reads this when it starts)."""
    os.environ["FORWARDED_ALLOW_IPS"] = trusted_proxies()


def server_port() -> int | None:
    """``$GRADIO_SERVER_PORT`` checked (Gradio reads it itself)."""
    return number("GRADIO_SERVER_PORT", None, 1, 65535)


def check_start():
    """Every setting the app reads at start; returns the configured accounts."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from sparse_feedback.formats.uploads import max_upload_bytes
    from sparse_feedback.store import configured_accounts
    from sparse_feedback.store.engine import sqlite_synchronous
    from sparse_feedback.ui.access import role_lists
    from sparse_feedback.ui.serving import session_capacity

    accounts = configured_accounts()
    role_lists()
    flag("SPARSE_FEEDBACK_PUBLIC"), flag("SPARSE_FEEDBACK_LOCAL")
    server_port(), session_capacity(), max_upload_bytes(), trusted_proxies(), sqlite_synchronous()
    if os.environ.get("SPARSE_FEEDBACK_DB"):
        try:
            make_url(os.environ["SPARSE_FEEDBACK_DB"])
        except ArgumentError:
            raise InputError("SPARSE_FEEDBACK_DB", "is not a database URL (e.g. sqlite:///path/to/store.db or "
                             "postgresql+psycopg://user@host/db)") from None
    return accounts
