"""An OpenAI-compatible fake judge on 127.0.0.1 that injects faults, for the judge tests and bench.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) on an asyncio loop in a thread to
serve ``POST /v1/chat/completions``. ``fault(prompt, attempt)`` picks what happens to each request:
``None`` (answer), ``"429"``, ``"500"``, ``"slow"``, ``"garbage"``, ``"drop"``, ``"401"`` or ``"echo_key"``.
``rpm`` / ``tpm`` turn on token-bucket rate limits (see :class:`TokenBucket`): every reply carries OpenAI's
``x-ratelimit-*`` headers, and a request over the limit gets a 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

FaultPlan = Callable[[str, int], "str | None"]


def stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def default_answer(prompt: str) -> str:
    """A deterministic judge: ratings in varied phrasings, rankings by hash with a free-text tail."""
    h = stable_hash(prompt)
    if "Output (a)" in prompt:
        return ["Output (a)", "Output (b) is better because it is more precise."][h % 2]
    rating = 1 + h % 7
    return [f"{rating}", f"Rating: {rating}", f"Score: {rating}/7"][(h >> 8) % 3]


def expected_rating(prompt: str) -> int:
    return 1 + stable_hash(prompt) % 7


class TokenBucket:
    """``per_minute`` refilled continuously, holding at most ``burst`` (default: one second's worth)."""

    def __init__(self, per_minute: float, burst: float | None = None):
        self.rate = per_minute / 60
        self.cap = burst if burst is not None else max(1.0, self.rate)
        self.level, self.at = self.cap, time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.cap, self.level + self.rate * (now - self.at))
        self.at = now

    def take(self, cost: float) -> float:
        """0 when ``cost`` was taken, else the seconds until it would be available."""
        self._refill()
        if self.level >= cost:
            self.level -= cost
            return 0.0
        return (min(cost, self.cap) - self.level) / self.rate

    def headers(self, kind: str) -> dict:
        self._refill()
        reset = (self.cap - self.level) / self.rate
        return {f"x-ratelimit-limit-{kind}": f"{self.cap:g}", f"x-ratelimit-remaining-{kind}": str(int(self.level)),
                f"x-ratelimit-reset-{kind}": f"{reset * 1000:.0f}ms"}


@dataclass
class Served:
    """One request as the server saw it."""

    prompt: str
    attempt: int
    fault: str | None
    status: int
    at: float
    auth: str = ""


@dataclass
class FakeJudgeServer:
    latency: float = 0.0
    fault: FaultPlan | None = None
    answer: Callable[[str], str] = default_answer
    retry_after: str = "0.05"
    slow_for: float = 2.0
    log: list[Served] = field(default_factory=list)
    batch: dict = field(default_factory=dict)  # FakeBatchAPI settings; its state is ``self.batches``
    batch_api: bool = True  # False: /v1/files and /v1/batches answer 404, as vLLM's and llama.cpp's servers do
    rpm: float | None = None  # requests per minute (token bucket); None: no limit
    tpm: float | None = None  # tokens per minute (prompt + max_tokens, as OpenAI counts ahead)
    burst: float | None = None  # bucket capacity in requests (tokens scale alike); default one second's worth

    def __post_init__(self):
        try:
            from fake_batches import FakeBatchAPI
        except ImportError:  # imported as tests.fake_openai
            from tests.fake_batches import FakeBatchAPI

        self.batches = FakeBatchAPI(self.answer, self.fault, **self.batch)
        self._attempts: Counter = Counter()
        self.batch_requests_refused = 0
        self.http_requests = 0  # every request of any kind, answered or not
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._writers: set = set()
        self.port = 0
        self.buckets = {}
        if self.rpm:
            self.buckets["requests"] = TokenBucket(self.rpm, self.burst)
        if self.tpm:
            self.buckets["tokens"] = TokenBucket(self.tpm, self.burst and self.burst * self.tpm / (self.rpm or self.tpm))

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "FakeJudgeServer":
        ready = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024))
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._shutdown(server))
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    async def _shutdown(self, server) -> None:
        server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def __enter__(self) -> "FakeJudgeServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ------------------------------------------------------------ accounting
    @property
    def requests(self) -> int:
        return len(self.log)

    def answered_prompts(self) -> list[str]:
        """Prompts that got a 200 with a proper answer (possibly after the client gave up: 'slow')."""
        return [s.prompt for s in self.log if s.status == 200 and s.fault is None]

    def reset(self) -> None:
        with self._lock:
            self.log.clear()

    # ------------------------------------------------------------ HTTP
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                if not await self._respond(lines[0], headers, body, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass  # a client hung up, or the server is stopping
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _respond(self, request_line: str, headers: dict, body: bytes, writer) -> bool:
        method, path = request_line.split(" ")[:2]
        self.http_requests += 1
        if path.startswith(("/v1/files", "/v1/batches")):
            if not self.batch_api:
                self.batch_requests_refused += 1
                self._write(writer, 404, {"detail": "Not Found"})
                await writer.drain()
                return True
            with self._lock:
                status, reply = self.batches.handle(method, path, headers, body)
            self._write(writer, status, reply)
            await writer.drain()
            return True
        if not request_line.startswith("POST") or "/chat/completions" not in request_line:
            self._write(writer, 404, {"error": {"message": "not found"}})
            return True
        payload = json.loads(body)
        prompt = "\n".join(m["content"] for m in payload["messages"] if m["role"] == "user")
        with self._lock:
            attempt = self._attempts[prompt]
            self._attempts[prompt] += 1
        fault = self.fault(prompt, attempt) if self.fault else None
        limits = {}
        if self.buckets:
            cost = {"requests": 1, "tokens": tokens(prompt) + int(payload.get("max_tokens") or 16)}
            with self._lock:
                waits = [bucket.take(cost[kind]) for kind, bucket in self.buckets.items()]
                for kind, bucket in self.buckets.items():
                    limits.update(bucket.headers(kind))
            if max(waits) > 0 and fault is None:
                fault = "429"
                limits["Retry-After"] = f"{max(waits):.3f}"
        served = Served(prompt, attempt, fault, 200, time.monotonic(), headers.get("authorization", ""))
        with self._lock:
            self.log.append(served)
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault == "drop":
            served.status = 0
            writer.transport.abort()
            return False
        if fault == "slow":
            await asyncio.sleep(self.slow_for)
        if fault == "429":
            served.status = 429
            self._write(writer, 429, {"error": {"message": "slow down", "type": "rate_limit"}},
                        {"Retry-After": self.retry_after, **limits})
        elif fault == "500":
            served.status = 500
            self._write(writer, 500, {"error": {"message": "internal error", "type": "server_error"}})
        elif fault == "401":
            served.status = 401
            self._write(writer, 401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
        elif fault == "echo_key":  # a careless server that echoes the credentials it was sent
            served.status = 400
            self._write(writer, 400, {"error": {"message": f"bad request from {headers.get('authorization')}",
                                                "type": "invalid_request_error"}})
        else:
            text = "I am not able to judge this one, sorry." if fault == "garbage" else self.answer(prompt)
            self._write(writer, 200, completion(payload.get("model", "fake"), text, prompt), limits)
        await writer.drain()
        return True

    @staticmethod
    def _write(writer, status: int, obj, extra: dict | None = None) -> None:
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
                  500: "Internal Server Error"}[status]
        head = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json", f"Content-Length: {len(data)}"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)


def tokens(text: str) -> int:
    """The fake's token count: one per four characters, at least one."""
    return max(1, len(text) // 4)


def completion(model: str, text: str, prompt: str = "") -> dict:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens(prompt), "completion_tokens": tokens(text),
                  "total_tokens": tokens(prompt) + tokens(text)},
    }


def faults_by_hash(plan: dict[int, str], modulus: int = 10, always: str | None = None) -> FaultPlan:
    """First attempt of a prompt whose hash % modulus is in ``plan`` gets that fault; later attempts succeed.

    ``always`` (e.g. ``"garbage"``) hits every attempt of prompts with hash % modulus == modulus - 1.
    """

    def fault(prompt: str, attempt: int) -> str | None:
        r = stable_hash(prompt) % modulus
        if always and r == modulus - 1:
            return always
        return plan.get(r) if attempt == 0 else None

    return fault

