"""Rewriting one HTTP response in ASGI middleware: the response is held whole, changed, and sent with its
length corrected. Used for the sign-in page (:mod:`.signed_out`) and FastAPI's 422 bodies (:mod:`.refusals`)."""

from __future__ import annotations

from typing import Callable


async def rewrite_response(app, scope, receive, send, wanted: Callable[[dict], bool],
                           change: Callable[[bytes], bytes], content_type: bytes | None = None) -> None:
    """Call ``app``; a response whose start message ``wanted`` accepts has its body replaced by ``change(body)``
    (and its content type by ``content_type`` when given); any other passes through as it streams."""
    held: dict = {}

    async def hold(message):
        if message["type"] == "http.response.start" and wanted(message):
            held["start"], held["body"] = message, b""
            return None
        if "start" not in held or message["type"] != "http.response.body":
            return await send(message)
        held["body"] += message.get("body", b"")
        if message.get("more_body"):
            return None
        body, start = change(held["body"]), held["start"]
        drop = (b"content-length", b"content-type") if content_type else (b"content-length",)
        headers = [(k, v) for k, v in start.get("headers") or [] if k not in drop]
        headers += [(b"content-type", content_type)] if content_type else []
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    await app(scope, receive, hold)


def header(message: dict, name: bytes) -> bytes:
    return dict(message.get("headers") or []).get(name, b"")
