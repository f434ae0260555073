"""The OpenAI Batch API, faked for FakeJudgeServer: ``/v1/files`` and ``/v1/batches`` on the same port.

A batch moves one status per ``retrieve`` (validating → in_progress → finalizing → completed), after
``polls_in_progress`` polls spent in progress; it is answered with the server's own ``answer`` and
``fault`` plan: ``"500"`` puts the line in the error file, ``"garbage"`` answers unparsably.
``outcome="expired"`` ends a batch with only its first half answered; ``cancel`` answers half as well.
``garbage="upload"`` (or ``"create"``, ``"poll"``, ``"download"``) answers that step with a body that is not JSON.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

_ids = itertools.count(1)


def _multipart(headers: dict, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart/form-data body → {name: (filename, bytes)}."""
    raw = f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    return {part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
            for part in message.iter_parts()}


@dataclass
class FakeBatchAPI:
    answer: Callable[[str], str]
    fault: Callable[[str, int], str | None] | None = None
    polls_in_progress: int = 1
    outcome: str = "completed"  # or "expired"
    on_upload: Callable[[str], None] | None = None  # called with the filename before the upload returns
    fail_create: int = 0  # this many batch creations answer 500 (a crash between upload and create)
    garbage: str | None = None  # the step answered with a body that is not JSON
    files: dict = field(default_factory=dict)
    batches: dict = field(default_factory=dict)
    uploads: list = field(default_factory=list)
    created: list = field(default_factory=list)
    attempts: Counter = field(default_factory=Counter)

    def handle(self, method: str, path: str, headers: dict, body: bytes):
        """→ (status, JSON-able object or raw bytes)."""
        path = path.split("?")[0].removeprefix("/v1")
        parts = path.strip("/").split("/")
        if self.garbage and self.garbage == _step(method, parts):
            return 200, b'{"id": "batch_\x00 <html>Bad Gateway'
        if parts[0] == "files":
            if method == "POST":
                return self._upload(headers, body)
            if len(parts) == 1:
                return 200, {"object": "list", "data": [f["meta"] for f in self.files.values()], "has_more": False}
            if len(parts) == 3 and parts[2] == "content" and parts[1] in self.files:
                return 200, self.files[parts[1]]["data"]
            return (200, self.files[parts[1]]["meta"]) if parts[1] in self.files else (404, _error("no such file"))
        if len(parts) == 1:
            if method == "POST":
                return self._create(json.loads(body))
            return 200, {"object": "list", "data": list(self.batches.values()), "has_more": False}
        batch = self.batches.get(parts[1])
        if batch is None:
            return 404, _error("no such batch")
        if len(parts) == 3 and parts[2] == "cancel":
            if batch["status"] in ("validating", "in_progress", "finalizing"):
                batch["status"] = "cancelling"
            return 200, batch
        self._advance(batch)
        return 200, batch

    def _upload(self, headers: dict, body: bytes):
        form = _multipart(headers, body)
        filename, data = form["file"]
        if self.on_upload is not None:
            self.on_upload(filename)
        file_id = f"file-{next(_ids)}"
        meta = {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                "filename": filename, "purpose": form["purpose"][1].decode()}
        self.files[file_id] = {"meta": meta, "data": data}
        self.uploads.append(filename)
        return 200, meta

    def _create(self, request: dict):
        if self.fail_create > 0:
            self.fail_create -= 1
            return 500, _error("internal error")
        if request["input_file_id"] not in self.files:
            return 400, _error("unknown input_file_id")
        batch_id = f"batch_{next(_ids)}"
        lines = self.files[request["input_file_id"]]["data"].decode().splitlines()
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": request["endpoint"], "errors": None,
            "input_file_id": request["input_file_id"], "completion_window": request["completion_window"],
            "status": "validating", "output_file_id": None, "error_file_id": None, "created_at": int(time.time()),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "metadata": request.get("metadata"), "_polls": 0,
        }
        self.created.append(batch_id)
        return 200, self.batches[batch_id]

    def _advance(self, batch: dict) -> None:
        status = batch["status"]
        if status == "validating":
            batch["status"] = "in_progress"
        elif status == "in_progress":
            batch["_polls"] += 1
            if batch["_polls"] > self.polls_in_progress:
                batch["status"] = "finalizing"
        elif status == "finalizing":
            self._finish(batch, "expired" if self.outcome == "expired" else "completed")
        elif status == "cancelling":
            self._finish(batch, "cancelled")

    def _finish(self, batch: dict, status: str) -> None:
        try:
            from fake_openai import completion
        except ImportError:  # imported as tests.fake_batches
            from tests.fake_openai import completion

        lines = [json.loads(line) for line in self.files[batch["input_file_id"]]["data"].decode().splitlines()]
        if status != "completed":
            lines = lines[: len(lines) // 2]
        out, err = [], []
        for request in lines:
            body = request["body"]
            prompt = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
            fault = self.fault(prompt, self.attempts[prompt]) if self.fault else None
            self.attempts[prompt] += 1
            if fault == "500":
                err.append({"id": f"req-{next(_ids)}", "custom_id": request["custom_id"], "error": None,
                            "response": {"status_code": 500, "body": _error("internal error")}})
                continue
            text = "I am not able to judge this one, sorry." if fault == "garbage" else self.answer(prompt)
            out.append({"id": f"req-{next(_ids)}", "custom_id": request["custom_id"], "error": None,
                        "response": {"status_code": 200, "body": completion(body["model"], text, prompt)}})
        for name, rows in (("output_file_id", out), ("error_file_id", err)):
            if rows:
                file_id = f"file-{next(_ids)}"
                data = "".join(json.dumps(r) + "\n" for r in rows).encode()
                self.files[file_id] = {"meta": {"id": file_id, "object": "file", "bytes": len(data),
                                                "filename": f"{batch['id']}_{name}.jsonl", "purpose": "batch_output",
                                                "created_at": int(time.time())}, "data": data}
                batch[name] = file_id
        batch["request_counts"] = {"total": batch["request_counts"]["total"], "completed": len(out),
                                   "failed": len(err)}
        batch["status"] = status


def _step(method: str, parts: list[str]) -> str:
    """The judge's step a request belongs to: upload (files), create (batches), poll (one batch), download."""
    if parts[0] == "files":
        return "download" if parts[-1] == "content" else "upload"
    return "create" if len(parts) == 1 else "poll"


def _error(message: str) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error"}}
