"""Settings that keep Gradio's per-event overhead small; applied before Gradio is imported.

Measured with py-spy under 50 annotators (``bench/bench_annotate.py``) on a 2-core machine, two costs
of Gradio's queue grew with every event rather than with the work itself:

- after each event the queue rebuilds an analytics summary (a pandas DataFrame over the last 10,000
  events) unless told to cache it: ``GRADIO_ANALYTICS_CACHE_FREQUENCY`` makes that once per 1,000
  events, and the window is kept at 1,000 events;
- each event enters a context manager that tries ``import matplotlib``; where matplotlib is not
  installed, every try searched ``sys.path`` again. Recording it as absent (``sys.modules[...] = None``,
  the import system's own marker) makes the failed import immediate; it changes nothing else, since the
  import could not succeed anyway.

The two variables are set with ``setdefault``: a value already in the environment wins.

Memory: Gradio keeps, per session, a copy of every component's config (about 0.4 MB for this app) and keeps
up to 10,000 sessions, so 10,000 one-shot API calls (each a new session) once grew the server by ~4 GB.
:func:`session_capacity` bounds the sessions kept (least recently used evicted first).
"""

from __future__ import annotations

import importlib.util
import os
import sys

GRADIO_ENV = {"GRADIO_ANALYTICS_CACHE_FREQUENCY": "1000", "GRADIO_ANALYTICS_MAX_EVENTS": "1000"}


def tune_gradio() -> None:
    for key, value in GRADIO_ENV.items():
        os.environ.setdefault(key, value)
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]


DEFAULT_SESSIONS = 256  # well above the team sizes the app is measured with (50 annotators); ~110 MB at most


def session_capacity() -> int:
    """``$SPARSE_FEEDBACK_SESSIONS``: how many recent browser/API sessions Gradio keeps state for (default 256).

    >>> session_capacity() >= 1
    True
    """
    from sparse_feedback.ui.startup import number

    return number("SPARSE_FEEDBACK_SESSIONS", DEFAULT_SESSIONS, 1)
