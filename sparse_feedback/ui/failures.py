"""What a client sees when a handler fails unexpectedly: one plain line with a reference id; the details
(exception, SQL, paths) go to the server log under the same id, never to the client."""

from __future__ import annotations

import logging
import uuid

log = logging.getLogger("sparse_feedback.app")

DEFAULT_FAILURE = "could not complete this request"


def failure_message(err: BaseException, failed: str = DEFAULT_FAILURE) -> str:
    """Log ``err`` with its traceback under a new reference id; return the line to show the user.

    >>> failure_message(RuntimeError("(sqlite3.OperationalError) disk I/O error"), "could not save")[:33]
    'could not save — try again (refer'
    """
    ref = uuid.uuid4().hex[:10]
    log.error("request failed [ref %s]: %s: %s", ref, type(err).__name__, err, exc_info=err)
    return f"{failed} — try again (reference {ref})"
