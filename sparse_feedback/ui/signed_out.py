"""The page Gradio serves before sign-in embeds the app's whole API description (``window.gradio_api_info``:
every endpoint, admin ones too, with parameters and defaults) while ``/gradio_api/info`` answers 401 to the same
visitor. :class:`SignedOutPage` empties it on that page (the one whose config says ``auth_required``); a signed-in
page is passed on untouched.
"""

from __future__ import annotations

import re

from sparse_feedback.ui.responses import header, rewrite_response

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
        await rewrite_response(self.app, scope, receive, send,
                               lambda start: header(start, b"content-type").startswith(b"text/html"), describe_nothing)
