"""What a Batch API step that went wrong says: one line naming the server, the step (upload, create, poll,
download, cancel) and the batch, instead of the OpenAI client's traceback or a bare JSON parser message.

A server without the Batch API (vLLM's or llama.cpp's OpenAI-compatible servers) answers the first step 404:
that is said as such, with the endpoint that answered, and the command exits 2.
"""

from __future__ import annotations

import contextlib
import json

from sparse_feedback.errors import UserError

SETUP_STEPS = ("upload", "create")  # a 404 here means the server has no Batch API at all


class BatchAPIError(UserError):
    """A Batch API step failed; ``no_api`` when the server offers no Batch API."""

    def __init__(self, message: str, no_api: bool = False):
        super().__init__(message)
        self.no_api = no_api


def _endpoint(err) -> str:
    request = getattr(err, "request", None)
    if request is None:
        return "the endpoint"
    return f"{request.method} {request.url.path}"


def _short(err: BaseException) -> str:
    text = getattr(err, "message", None) or str(err) or type(err).__name__
    return " ".join(str(text).split())[:200]


@contextlib.contextmanager
def step(base_url: str, name: str, batch: str | None = None):
    """Run one Batch API call of step ``name``; any failure becomes a :class:`BatchAPIError`.

    >>> try:
    ...     with step("http://127.0.0.1:8000/v1", "poll", "batch_7"):
    ...         json.loads("oops")
    ... except BatchAPIError as err:
    ...     print(err)
    http://127.0.0.1:8000/v1: the Batch API poll step for batch batch_7 failed: the server's reply is not valid \
JSON (Expecting value: line 1 column 1 (char 0))
    """
    import openai

    what = f"the Batch API {name} step" + (f" for batch {batch}" if batch else "")
    try:
        yield
    except openai.NotFoundError as err:
        if name in SETUP_STEPS:
            raise BatchAPIError(f"{base_url} offers no Batch API ({_endpoint(err)} answered 404): judge without "
                                "--batch, or --write-batch a file for a batch runner such as vLLM's run_batch",
                                no_api=True) from None
        raise BatchAPIError(f"{base_url}: {what} failed: {_endpoint(err)} answered 404") from None
    except openai.APIStatusError as err:
        raise BatchAPIError(f"{base_url}: {what} failed: {_endpoint(err)} answered {err.status_code} "
                            f"({_short(err)})") from None
    except (openai.APIError, json.JSONDecodeError) as err:
        cause = err if isinstance(err, json.JSONDecodeError) else (err.__cause__ or err)
        detail = (f"the server's reply is not valid JSON ({_short(cause)})"
                  if isinstance(cause, json.JSONDecodeError) else _short(err))
        raise BatchAPIError(f"{base_url}: {what} failed: {detail}") from None
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as err:
        raise BatchAPIError(f"{base_url}: {what} failed: the server's reply is malformed ({_short(err)})") from None
