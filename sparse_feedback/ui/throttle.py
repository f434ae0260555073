"""Sign-in throttling: after 5 failed sign-ins for a user name or from a client address, each further try
waits an exponentially growing time (1 s, 2 s, 4 s ... up to 15 min), answered with HTTP 429 and
``Retry-After`` without checking the password. The right password works again once the wait is over.

The refusal is the same for an unknown user and a wrong password, so it tells nothing about who exists.
State is per process, bounded (oldest entries dropped) and forgotten an hour after the last failure.

Keys: ``user:NAME`` for the user name the form names, however it is encoded (url-encoded, multipart or JSON),
and ``addr:IP`` for the client address (as :mod:`sparse_feedback.ui.startup` lets uvicorn work it out: the peer,
or what a trusted proxy forwarded). A form that names no user counts against its address only, never against a
name shared by others.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request

FREE_FAILURES = 5
BASE_DELAY_S = 1.0
MAX_DELAY_S = 15 * 60
FORGET_AFTER_S = 3600
MAX_ENTRIES = 10_000


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0
    blocked_until: float = 0.0


class Throttle:
    """Failure counts per key (``user:NAME``, ``addr:IP``) and the wait each imposes.

    >>> t, now = Throttle(clock=lambda: now), 100.0
    >>> for _ in range(5): t.failed(["user:eve"])
    >>> t.wait(["user:eve"])
    1.0
    >>> t.failed(["user:eve"]); t.wait(["user:eve"])
    2.0
    >>> now += 2; t.wait(["user:eve"])
    0.0
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, keys) -> float:
        """Seconds until any of ``keys`` may try again (0 when none is blocked)."""
        now = self.clock()
        with self._lock:
            return max([0.0] + [r.blocked_until - now for k in keys if (r := self._records.get(k))])

    def failed(self, keys) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                r = self._records.pop(key, None) or _Record()
                if now - r.last > FORGET_AFTER_S:
                    r = _Record()
                r.failures, r.last = r.failures + 1, now
                if r.failures >= FREE_FAILURES:
                    r.blocked_until = now + min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (r.failures - FREE_FAILURES))
                self._records[key] = r  # most recent last
            while len(self._records) > MAX_ENTRIES:
                self._records.popitem(last=False)

    def succeeded(self, keys) -> None:
        with self._lock:
            for key in keys:
                self._records.pop(key, None)


class LoginThrottle:
    """ASGI middleware in front of Gradio's ``POST /login``."""

    def __init__(self, app, throttle: Throttle | None = None):
        self.app, self.throttle = app, throttle or Throttle()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/").rsplit("/", 1)[-1] != "login":
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > 64_000:  # a sign-in form is tiny
                return await _respond(send, 413, "sign-in form too large")
        name = await sign_in_name(scope, body)
        addr = (scope.get("client") or ("?",))[0]
        user_keys = [f"user:{name}"] if name else []
        keys = [*user_keys, f"addr:{addr}"]
        wait = self.throttle.wait(keys)
        if wait > 0:
            seconds = math.ceil(wait)
            return await _respond(send, 429, f"Too many failed sign-ins: try again in {seconds} s.",
                                  [(b"retry-after", str(seconds).encode())])
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message):
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.throttle.succeeded(user_keys)
                elif message["status"] in (400, 401, 422):  # 422: a form Gradio could not read
                    self.throttle.failed(keys)
            await send(message)

        await self.app(scope, replay, watch)


async def sign_in_name(scope, body: bytes) -> str:
    """The user name a sign-in form names, url-encoded, multipart or JSON ('' when it names none)."""
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1").lower()
    value = None
    try:
        if "json" in content_type:
            value = json.loads(body).get("username")
        elif content_type.startswith("multipart/form-data"):
            async def once():
                return {"type": "http.request", "body": body, "more_body": False}

            form = await Request(scope, once).form()
            value = form.get("username")
            await form.close()
        else:  # url-encoded, or no content type at all
            value = (parse_qs(body.decode("utf-8", "replace")).get("username") or [""])[0]
    except Exception:  # a malformed body names nobody (Gradio refuses it itself)
        value = None
    return value.strip()[:200] if isinstance(value, str) else ""


async def _respond(send, status: int, detail: str, headers=()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})
