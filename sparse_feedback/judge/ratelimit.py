"""Pace requests to a rate-limited server: read its rate-limit headers, adapt the requests in flight.

Two mechanisms, both fed by every reply (successes and 429s alike):

- an AIMD window on the requests in flight: it grows by one per answered request while the server says
  there is room (slow start), then by about one per window once a 429 was seen; a 429 halves it (once per
  window: the 429s of requests sent before the cut do not cut it again) and stops every start for
  ``Retry-After`` seconds;
- a client-side mirror of the server's token buckets (``x-ratelimit-limit/remaining/reset-requests`` and
  ``-tokens``): the refill rate is ``(limit - remaining) / reset``; a request starts only when the mirror
  holds a request and the tokens it is expected to use (the mean of the usage seen so far), so requests
  leave at the server's rate instead of bursting into 429s.

Servers that send no such headers get the window alone, with the Retry-After waits.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from dataclasses import dataclass
from typing import Mapping

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration(text: str | None) -> float | None:
    """Seconds in an OpenAI reset header: ``"1s"``, ``"6m0s"``, ``"20ms"``, ``"0.5"``.

    >>> duration("6m0s"), duration("20ms"), duration("1h2m3.5s"), duration("0.5"), duration("soon")
    (360.0, 0.02, 3723.5, 0.5, None)
    """
    if text is None:
        return None
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return round(sum(float(n) * _UNITS[u] for n, u in parts), 6)


def _number(headers: Mapping, name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Bucket:
    """One limit as a reply states it: capacity, what is left, seconds until it is full again."""

    limit: float | None
    remaining: float | None
    reset: float | None

    @property
    def rate(self) -> float | None:
        """Refill per second, when the headers say enough: ``(limit - remaining) / reset``.

        >>> Bucket(600, 590, 1.0).rate, Bucket(600, 600, 0.0).rate, Bucket(None, 3, 1.0).rate
        (10.0, None, None)
        """
        if self.limit is None or self.remaining is None or not self.reset or self.remaining >= self.limit:
            return None
        return (self.limit - self.remaining) / self.reset


@dataclass(frozen=True)
class RateLimits:
    """The rate-limit headers of one reply (any mapping with lower-case or case-insensitive keys).

    >>> r = RateLimits.from_headers({"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "597",
    ...     "x-ratelimit-reset-requests": "300ms", "retry-after": "2"})
    >>> r.requests, r.retry_after, r.tokens.remaining
    (Bucket(limit=600.0, remaining=597.0, reset=0.3), 2.0, None)
    """

    requests: Bucket
    tokens: Bucket
    retry_after: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping | None) -> "RateLimits":
        headers = headers or {}

        def bucket(kind: str) -> Bucket:
            return Bucket(_number(headers, f"x-ratelimit-limit-{kind}"), _number(headers, f"x-ratelimit-remaining-{kind}"),
                          duration(headers.get(f"x-ratelimit-reset-{kind}")))

        retry = _number(headers, "retry-after-ms")
        retry = retry / 1000 if retry is not None else _number(headers, "retry-after")
        return cls(bucket("requests"), bucket("tokens"), retry)


class _Mirror:
    """The client's estimate of one server bucket: refills at the rate the headers imply, spent on start."""

    def __init__(self):
        self.level = math.inf  # unknown: no limit
        self.rate: float | None = None
        self.cap = math.inf
        self.at = time.monotonic()

    def _refill(self, now: float) -> None:
        if self.rate and self.level < self.cap:
            self.level = min(self.cap, self.level + self.rate * (now - self.at))
        self.at = now

    def observe(self, bucket: Bucket, spent_since: float, now: float) -> None:
        """A reply's view, less what this client started after the request it answers (the server may
        not have counted those yet); the mirror only ever moves down to it, by more than two requests (the
        reply is a latency old and ``remaining`` is rounded down)."""
        self._refill(now)
        if bucket.limit is not None:
            self.cap = bucket.limit
        if (rate := bucket.rate) is not None:
            self.rate = rate
        elif self.rate is None and bucket.limit is not None:
            self.rate = bucket.limit / 60  # per-minute limits, as OpenAI's
        if bucket.remaining is not None and self.rate:  # without a refill rate the mirror could never refill
            seen = bucket.remaining - spent_since
            if self.level == math.inf or seen < self.level - 2:
                self.level = seen

    def wait(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` is available (0: now)."""
        self._refill(now)
        if self.level >= cost:
            return 0.0
        return (cost - self.level) / self.rate

    def take(self, cost: float) -> None:
        if self.level != math.inf:
            self.level -= cost


class Ticket:
    """One started request: report how it went with :meth:`done` (reply headers, and whether it was a 429)."""

    def __init__(self, pacer: "Pacer", seq: int, spent: tuple[float, float]):
        self.pacer, self.seq, self.spent = pacer, seq, spent
        self.reported = False

    def done(self, headers: Mapping | None = None, throttled: bool = False, tokens: int | None = None) -> None:
        if not self.reported:
            self.reported = True
            self.pacer._report(self, RateLimits.from_headers(headers), throttled, tokens)


class Pacer:
    """Admission control for requests to one server: at most ``window`` in flight (between 1 and
    ``max_inflight``) and no more than its rate-limit headers allow.

    >>> p = Pacer(max_inflight=64, start=4)
    >>> async def one(headers=None, throttled=False):
    ...     ticket = await p.acquire(); p.release(ticket, headers, throttled)
    >>> for _ in range(8): asyncio.run(one())
    >>> p.window  # slow start: one more per answered request
    12.0
    >>> asyncio.run(one({"retry-after": "0"}, throttled=True)); p.window, p.throttled
    (6.0, 1)
    """

    def __init__(self, max_inflight: int = 16, start: int = 4, adapt: bool = True):
        self.adapt = adapt  # False: a fixed window of ``start`` requests, headers ignored (the old semaphore)
        self.max_inflight = max(1, max_inflight)
        self.window = float(min(self.max_inflight, max(1, start)))
        self.slow_start = True
        self.inflight = 0
        self.started = 0
        self.throttled = 0
        self.paused_until = 0.0
        self._cut_at = -1  # requests started before the last cut do not cut the window again
        self._requests, self._tokens = _Mirror(), _Mirror()
        self._spent = [0.0, 0.0]  # requests and tokens started so far
        self._token_use: list[float] = [0.0, 0.0]  # sum of tokens per request, count
        self._changed: asyncio.Event | None = None

    def _token_cost(self) -> float:
        total, count = self._token_use
        return total / count if count else 1.0

    def _wait(self, now: float) -> float:
        if self.inflight >= int(self.window):
            return math.inf
        if now < self.paused_until:
            return self.paused_until - now
        return max(self._requests.wait(1, now), self._tokens.wait(min(self._token_cost(), self._tokens.cap), now))

    async def acquire(self) -> Ticket:
        while True:
            now = time.monotonic()
            wait = self._wait(now)
            if wait <= 0:
                break
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), None if wait == math.inf else wait)
            except asyncio.TimeoutError:
                pass
        cost = self._token_cost()
        self._requests.take(1)
        self._tokens.take(cost)
        ticket = Ticket(self, self.started, tuple(self._spent))
        self.started += 1
        self._spent[0] += 1
        self._spent[1] += cost
        self.inflight += 1
        return ticket

    def release(self, ticket: Ticket, headers: Mapping | None = None, throttled: bool = False,
                tokens: int | None = None) -> None:
        """The request is over; ``headers`` are its reply's (None when no reply came). Idempotent."""
        if ticket.reported:
            return
        if self.adapt:
            ticket.done(headers, throttled, tokens)
        else:
            ticket.reported = True
            self.throttled += throttled
        self.inflight -= 1
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def _report(self, ticket: Ticket, limits: RateLimits, throttled: bool, tokens: int | None) -> None:
        now = time.monotonic()
        if tokens:
            self._token_use[0] += tokens
            self._token_use[1] += 1
        self._requests.observe(limits.requests, self._spent[0] - ticket.spent[0] - 1, now)
        self._tokens.observe(limits.tokens, self._spent[1] - ticket.spent[1] - self._token_cost(), now)
        if throttled:
            self.throttled += 1
            self.paused_until = max(self.paused_until, now + (limits.retry_after or 0.0))
            if self._requests.rate:
                self._requests.level = min(self._requests.level, 0.0)
            if ticket.seq > self._cut_at:  # one cut per window
                self.window = max(1.0, self.window / 2)
                self.slow_start = False
                self._cut_at = self.started
            return
        room = limits.requests.remaining is None or limits.requests.remaining > self.inflight
        if room and self.window < self.max_inflight:
            self.window = min(self.max_inflight, self.window + (1.0 if self.slow_start else 1.0 / self.window))
