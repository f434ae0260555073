"""A sampling server speaking the OpenAI API on 127.0.0.1 for the generate tests: ``/v1/chat/completions`` and ``/v1/completions``.

``reply(prompt_text, request_json, i) -> str`` decides each choice's text; every request is recorded.
``max_n`` caps the choices per reply, like servers that ignore ``n``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


def echo_reply(prompt: str, request: dict, i: int) -> str:
    return f"sample {i} for: {prompt[-40:]}"


class FakeSampler:
    def __init__(self, reply: Callable[[str, dict, int], str] = echo_reply, max_n: int | None = None):
        self.reply, self.max_n, self.requests = reply, max_n, []
        self.fail_next = 0  # answer this many requests with 429 + Retry-After first
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append({"path": self.path, **body})
                    refuse, server.fail_next = server.fail_next > 0, max(0, server.fail_next - 1)
                if refuse:
                    data = b'{"error": {"message": "slow down"}}'
                    self.send_response(429)
                    self.send_header("Retry-After", "0.05")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                chat = self.path.endswith("/chat/completions")
                prompt = body["messages"][-1]["content"] if chat else body["prompt"]
                n = body.get("n") or 1
                if server.max_n:
                    n = min(n, server.max_n)
                texts = [server.reply(prompt, body, i) for i in range(n)]
                choices = [({"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                            if chat else {"index": i, "text": t, "finish_reason": "stop"})
                           for i, t in enumerate(texts)]
                payload = {"id": "fake", "object": "chat.completion" if chat else "text_completion",
                           "created": int(time.time()), "model": body.get("model", "fake"), "choices": choices,
                           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "FakeSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
