"""Study links with password accounts: the link itself signs the participant in, Gradio's login page never shows.

With ``auth=`` Gradio serves its login page to anyone whose ``access-token`` cookie names no session it issued
(``app.tokens``: session token -> user name). :class:`StudyEntry` sits in front of the page (``GET /``): an address
carrying a study entry (:func:`sparse_feedback.study.links.is_entry`) is checked with the study-link code before
Gradio sees it. A valid link registers a Gradio session for the participant's annotator name, exactly as Gradio's
own ``/login`` does for a password, and the page is served at once with that session (and the cookie set, so every
later request of the page carries it). A wrong, revoked or incomplete link gets one refusal page (HTTP 403) and no
cookie. Every other request passes untouched: a visitor without a study link still gets the login page, and the
password check is Gradio's as before.

The session's name is a participant's (``participant-<link>-<hash>``):
:meth:`sparse_feedback.ui.access.Access.identify` makes it an annotator of the link's project only, and nothing
else, whatever account names exist; a revoked link ends its sessions on their next request.
"""

from __future__ import annotations

import html
import secrets
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from sparse_feedback.study import links


def refusal_page(message: str = links.REFUSED) -> HTMLResponse:
    """The one answer to a broken study link: the sentence and nothing of the app.

    >>> b"not valid" in refusal_page().body, refusal_page().status_code
    (True, 403)
    """
    body = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>sparse-feedback</title></head>"
            f"<body><main id='study-refused'><h1>Study link refused</h1><p>{html.escape(message)}</p></main>"
            "</body></html>")
    return HTMLResponse(body, status_code=403, headers={"cache-control": "no-store"})


def cookie_names(gradio_app) -> tuple[str, str]:
    """Gradio's two session cookies (the ``Secure`` one, and the one a plain-http address keeps)."""
    return f"access-token-{gradio_app.cookie_id}", f"access-token-unsecure-{gradio_app.cookie_id}"


def session_cookies(gradio_app, token: str) -> list[tuple[bytes, bytes]]:
    """``Set-Cookie`` headers for a Gradio session, set as Gradio's ``/login`` sets them."""
    secure, plain = cookie_names(gradio_app)
    response = Response()
    response.set_cookie(secure, token, httponly=True, samesite="none", secure=True)
    response.set_cookie(plain, token, httponly=True)
    return [(k, v) for k, v in response.raw_headers if k == b"set-cookie"]


def with_session(scope, gradio_app, token: str) -> dict:
    """The request as if it carried the session's cookies (and no other session's)."""
    names = cookie_names(gradio_app)
    kept = {k: v for k, v in Request(scope).cookies.items() if k not in names}
    cookie = "; ".join(f"{k}={v}" for k, v in {**kept, **dict.fromkeys(names, token)}.items())
    headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"cookie"]
    return {**scope, "headers": [*headers, (b"cookie", cookie.encode("latin-1"))]}


class StudyEntry:
    """ASGI middleware: the app's page opened by a study link, with password accounts (Gradio's ``auth=``)."""

    def __init__(self, app, store):
        self.app, self.store = app, store

    async def __call__(self, scope, receive, send):
        gradio_app = scope.get("app")
        if (scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or scope["path"] not in ("", "/")
                or getattr(gradio_app, "auth", None) is None):
            return await self.app(scope, receive, send)
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if not links.is_entry(params):
            return await self.app(scope, receive, send)
        try:
            entry = await anyio.to_thread.run_sync(links.enter, self.store, params)
        except links.StudyRefusal as err:
            return await refusal_page(str(err))(scope, receive, send)
        cookies = Request(scope).cookies
        held = next((cookies[n] for n in cookie_names(gradio_app) if cookies.get(n)), None)  # Gradio's order
        if held is not None and gradio_app.tokens.get(held) == entry.annotator:  # already this participant's
            return await self.app(scope, receive, send)
        token = secrets.token_urlsafe(16)
        gradio_app.tokens[token] = entry.annotator
        issued = session_cookies(gradio_app, token)

        async def set_cookies(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*(message.get("headers") or []), *issued]}
            await send(message)

        await self.app(with_session(scope, gradio_app, token), receive, set_cookies)
