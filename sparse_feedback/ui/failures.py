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


MALFORMED_VALUE = "a value sent with this request is not one this page offers; reload the page and try again"


def malformed_value(err: BaseException, handler: str | None = None) -> str:
    """Log why Gradio refused a value before the handler ran (a choice not offered, a number out of range, a
    wrong type: its text names Python types); return the project's sentence for the client.

    >>> malformed_value(ValueError("Value: 'x' (type: <class 'str'>) is not in the list of choices"), "rate_submit")
    'a value sent with this request is not one this page offers; reload the page and try again'
    """
    log.info("refused a malformed value for %s: %s: %s", handler or "a handler", type(err).__name__, err)
    return MALFORMED_VALUE
