"""The page Gradio serves before sign-in embeds the app's whole API description (``window.gradio_api_info``:
every endpoint, admin ones too, with parameters and defaults) while ``/gradio_api/info`` answers 401 to the same
visitor. :class:`SignedOutPage` empties it on that page (the one whose config says ``auth_required``); a signed-in
page is passed on untouched.
"""

from __future__ import annotations

import re

API_INFO = re.compile(rb"(<script>window\.gradio_api_info = ).*?(;</script>)", re.S)  # the JSON escapes every <
NO_ENDPOINTS = b'{"named_endpoints":{},"unnamed_endpoints":{}}'
SIGN_IN_PAGE = b'window.gradio_config = {"auth_required":true'


def describe_nothing(page: bytes) -> bytes:
    """The sign-in page without its API description; any other page as it was.

    >>> page = b'<script>window.gradio_config = {"auth_required":true};</script>'
    >>> page += b'<script>window.gradio_api_info = {"named_endpoints":{"/x":{}}};</script>'
    >>> describe_nothing(page).split(b"gradio_api_info = ")[1]
    b'{"named_endpoints":{},"unnamed_endpoints":{}};</script>'
    """
    if SIGN_IN_PAGE not in page:
        return page
    return API_INFO.sub(lambda m: m.group(1) + NO_ENDPOINTS + m.group(2), page)


class SignedOutPage:
    """ASGI middleware: HTML pages (never the API, files or assets) pass through :func:`describe_nothing`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET" or "/gradio_api/" in scope["path"]:
            return await self.app(scope, receive, send)
        held: dict = {}

        async def rewrite(message):
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if not headers.get(b"content-type", b"").startswith(b"text/html"):
                    return await send(message)
                held["start"], held["body"] = message, b""
                return None
            if "start" not in held or message["type"] != "http.response.body":
                return await send(message)
            held["body"] += message.get("body", b"")
            if message.get("more_body"):
                return None
            body, start = describe_nothing(held["body"]), held["start"]
            headers = [(k, v) for k, v in start.get("headers") or [] if k != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)
