"""FastAPI answers a request body it cannot read (Gradio's queue, call and sign-in routes) with 422 and pydantic's
own text: types, parsing errors and the values sent. :class:`PlainValidationErrors` replaces that body with the
project's sentence, naming only the fields at fault."""

from __future__ import annotations

import json

from sparse_feedback.ui.responses import rewrite_response

MALFORMED_REQUEST = "the request is malformed ({fields}): send what the page itself sends"


def plain_refusal(body: bytes) -> bytes:
    """The 422 body in the project's words.

    >>> plain_refusal(b'{"detail":[{"type":"list_type","loc":["body","data"],"msg":"Input should be a valid list"}]}')
    b'{"detail": "the request is malformed (data): send what the page itself sends"}'
    """
    try:
        problems = json.loads(body).get("detail")
        fields = sorted({str(p["loc"][-1]) for p in problems if p.get("loc")}) if isinstance(problems, list) else []
    except (ValueError, AttributeError, TypeError, KeyError, IndexError):
        fields = []
    text = MALFORMED_REQUEST.format(fields=", ".join(fields)[:200] or "body")
    return json.dumps({"detail": text}).encode()


class PlainValidationErrors:
    """ASGI middleware: a 422 response's body becomes :func:`plain_refusal`'s; everything else passes as is."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        await rewrite_response(self.app, scope, receive, send, lambda start: start["status"] == 422, plain_refusal,
                               content_type=b"application/json")
