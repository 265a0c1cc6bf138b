"""Rate limits for routes that answer about a code anyone could guess: token buckets per bearer token and per
client address.

Dossier codes are sequential by design (the national format), so a stolen kiosk token could walk through a day's
dossiers; a bucket per token slows that to a trickle, and one per address slows a caller cycling through tokens.
A kiosk serving citizens makes a look-up or two a minute and never meets either limit.

The buckets live in this process's memory: enough for one backend process (several would each allow the rate, and
a restart refills them). Moving them to the shared database is part of scaling out to several processes.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from contracts.http import Refused, bearer

MAX_KEYS = 50_000  # the least recently seen callers are forgotten past this (memory stays bounded under a flood)


class TokenBuckets:
    """One bucket per key holding up to ``per_minute`` tokens, refilled continuously at ``per_minute`` a minute."""

    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        if per_minute <= 0:
            raise ValueError("a rate limit needs a positive number per minute")
        self.capacity, self._rate = per_minute, per_minute / 60.0
        self._clock, self._max_keys = clock, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0 when there was one, otherwise the seconds until there will be."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self._rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return wait


@dataclass(frozen=True)
class LookupLimit:
    """A route's throttle (``Endpoint.throttle``): both the caller's token and its address must have a token left.

    :raises Refused: 429 with ``Retry-After``, worded for the log of the kiosk that hit it.
    """

    per_token: TokenBuckets
    per_address: TokenBuckets

    @classmethod
    def per_minute(cls, per_token: float, per_address: float, **options: Any) -> LookupLimit:
        return cls(TokenBuckets(per_token, **options), TokenBuckets(per_address, **options))

    def __call__(self, request: Request, _caller: Any) -> None:
        address = request.client.host if request.client else ""
        wait = self.per_address.take(address)
        if not wait:
            # keyed by a digest: the buckets need not hold the tokens themselves
            wait = self.per_token.take(hashlib.sha256(bearer(request).encode()).hexdigest())
        if wait:
            seconds = max(1, math.ceil(wait))
            raise Refused(429, "rate_limited", f"too many look-ups; try again in {seconds} s",
                          headers={"Retry-After": str(seconds)})
