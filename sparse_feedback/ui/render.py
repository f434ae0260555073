"""Untrusted text (instructions, responses) as inert markdown: no HTML, no script links.

Text is HTML-escaped before it reaches the markdown renderer (which also sanitises), so ``<script>``
and ``<img onerror=...>`` show as the characters typed; ``javascript:`` URLs are broken so a
markdown link cannot carry one.
"""

from __future__ import annotations

import html
import re

_SCRIPT_URL = re.compile(r"(?i)\b(java|vb)(\s*)(script)(\s*):")
MAX_CHARS = 200_000  # longer texts are cut for display, so one giant line cannot freeze the page
# The browser's markdown renderer slows down superlinearly on long unbroken runs (50,000 characters without
# a space: seconds of a frozen tab in chromium), so very long runs get a space for display.
LONG_RUN = 400
_LONG_RUN = re.compile(r"\S{%d}(?=\S)" % LONG_RUN)


def safe_markdown(text: str | None) -> str:
    """Escape HTML and defuse script URLs; keep the markdown itself.

    >>> safe_markdown('<script>alert(1)</script> **ok**')
    '&lt;script&gt;alert(1)&lt;/script&gt; **ok**'
    >>> safe_markdown('[x](javascript:alert(1))')
    '[x](java\u200bscript:alert(1))'
    >>> [len(run) for run in safe_markdown("Z" * 1000).split(" ")]
    [400, 400, 200]
    """
    text = "" if text is None else str(text)
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS] + f"\n\n… ({len(text) - MAX_CHARS:,} more characters not shown)"
    text = _LONG_RUN.sub(lambda m: m.group(0) + " ", text)
    text = html.escape(text, quote=False)
    return _SCRIPT_URL.sub(lambda m: f"{m.group(1)}\u200b{m.group(3)}:", text)


def quoted(label: str, text: str | None) -> str:
    """A labelled block of untrusted text."""
    body = safe_markdown(text)
    return f"**{label}**\n\n{body}" if body.strip() else ""
