"""Gradio's HTTP API spoken by hand (httpx), the way a hostile client would: sign in, read the config,
call any handler by ``fn_index`` through ``/gradio_api/queue/join`` or by name through ``/gradio_api/call``."""

from __future__ import annotations

import json
import uuid

import httpx


def signed_in(url: str, user: str | None = None, password: str | None = None) -> httpx.Client:
    """An httpx client; with credentials it posts the login form and keeps the session cookie."""
    client = httpx.Client(base_url=url, timeout=30)
    if user is not None:
        r = client.post("/login", data={"username": user, "password": password})
        assert r.status_code == 200, r.text
    return client


def _events(response: httpx.Response):
    for line in response.iter_lines():
        if line.startswith("data:"):
            yield line[5:].strip()


def queue_call(client: httpx.Client, fn_index: int, data: list, session: str | None = None) -> dict:
    """Join the queue for handler ``fn_index``; returns ``{"status": http status}`` when refused at the door,
    else ``{"status": 200, "success": bool, "data": [...] | None, "error": str | None}``. A page keeps one
    ``session`` for all its calls (Gradio builds the session's state on its first call)."""
    session = session or uuid.uuid4().hex
    join = client.post("/gradio_api/queue/join", json={
        "data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None})
    if join.status_code != 200:
        return {"status": join.status_code, "body": join.text}
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as r:
        if r.status_code != 200:
            return {"status": r.status_code, "body": r.read().decode()}
        for raw in _events(r):
            msg = json.loads(raw)
            if msg.get("msg") == "process_completed":
                out = msg.get("output") or {}
                return {"status": 200, "success": bool(msg.get("success")), "data": out.get("data"),
                        "error": out.get("error")}
    return {"status": 200, "success": False, "data": None, "error": "stream ended without a result"}


def named_call(client: httpx.Client, api_name: str, data: list) -> dict:
    """``POST /gradio_api/call/<api_name>`` then read its event stream; same result shape as :func:`queue_call`."""
    start = client.post(f"/gradio_api/call/{api_name}", json={"data": data})
    if start.status_code != 200:
        return {"status": start.status_code, "body": start.text}
    event_id = start.json()["event_id"]
    with client.stream("GET", f"/gradio_api/call/{api_name}/{event_id}") as r:
        kind = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                payload = line[5:].strip()
                value = json.loads(payload) if payload and payload != "null" else None
                return {"status": 200, "success": kind == "complete", "data": value if kind == "complete" else None,
                        "error": None if kind == "complete" else (value if value is not None else "error")}
    return {"status": r.status_code, "success": False, "data": None, "error": "stream ended without a result"}
