"""Rate limits for routes that answer about a code anyone could guess: token buckets per bearer token and per
client address.

Dossier codes are sequential by design (the national format), so a stolen kiosk token could walk through a day's
dossiers; a bucket per token slows that to a trickle, and one per address slows a caller cycling through tokens.
A kiosk serving citizens makes a look-up or two a minute and never meets either limit.

Two ways to count, one rule: :class:`LookupLimit` keeps token buckets in this process's memory, which is right for
one process (a SQLite backend; a restart refills them); :class:`SharedLookupLimit` counts in a table of the database
every process shares (PostgreSQL), so two processes together allow the configured rate, not twice it. It counts
per key in one-minute windows and weighs the previous minute's count by the part of it still inside the last 60 s
(a sliding window), so a caller cannot double its rate across a minute's boundary; one statement per look-up
upserts both keys' rows. The table is UNLOGGED on PostgreSQL: counters are not worth a WAL flush per look-up, and
a crash that empties them only refills everyone's allowance, as a restart does for the buckets.
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
from contracts.migrations import Migrations
from contracts.sqldb import Connection, Database

MAX_KEYS = 50_000  # the least recently seen callers are forgotten past this (memory stays bounded under a flood)
WINDOW_S = 60
ratelimit_migrations = Migrations()


@ratelimit_migrations("ratelimit_0001_hits")
def _schema(conn: Connection) -> None:
    unlogged = "UNLOGGED " if conn.dialect == "postgresql" else ""
    conn.execute(f"CREATE {unlogged}TABLE rate_limit_hits (key TEXT PRIMARY KEY, minute BIGINT NOT NULL, "
                 "hits INTEGER NOT NULL, previous INTEGER NOT NULL)")


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


def _caller_keys(request: Request) -> tuple[str, str]:
    """(client address, digest of the bearer token): the limits need not hold the tokens themselves."""
    address = request.client.host if request.client else ""
    return address, hashlib.sha256(bearer(request).encode()).hexdigest()


def _refuse(wait: float) -> Refused:
    seconds = max(1, math.ceil(wait))
    return Refused(429, "rate_limited", f"too many look-ups; try again in {seconds} s",
                   headers={"Retry-After": str(seconds)})


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
        address, token = _caller_keys(request)
        wait = self.per_address.take(address) or self.per_token.take(token)
        if wait:
            raise _refuse(wait)


class SharedLookupLimit:
    """The same throttle counted in ``db``, shared by every process on it (see the module's docstring).

    Each key's row holds its current minute, the hits in it and the hits of the minute before. A refused look-up
    is taken back, as a token bucket refuses without taking: a caller that waits the Retry-After it was given gets
    through then (a hammering one is refused without paying for it, and the limit still holds it).
    """

    def __init__(self, db: Database, per_token: float, per_address: float, *,
                 clock: Callable[[], float] = time.time) -> None:
        if per_token <= 0 or per_address <= 0:
            raise ValueError("a rate limit needs a positive number per minute")
        self.db, self.per_token, self.per_address, self._clock = db, per_token, per_address, clock
        self._swept = 0  # the minute this process last deleted the rows of quiet callers
        db.migrate(ratelimit_migrations)

    def __call__(self, request: Request, _caller: Any) -> None:
        address, token = _caller_keys(request)
        wait = self.take({f"address:{address}": self.per_address, f"token:{token}": self.per_token})
        if wait:
            raise _refuse(wait)

    def take(self, limits: dict[str, float]) -> float:
        """Count one hit for each key of ``limits`` (key → allowed a minute): 0 when every key is within its
        limit, otherwise the seconds until the most limited one will be."""
        now = self._clock()
        minute, into = divmod(now, WINDOW_S)
        keys = sorted(limits)  # rows are locked in key order in every process: two callers never deadlock
        with self.db.connection() as conn:
            rows = conn.execute(
                "INSERT INTO rate_limit_hits (key, minute, hits, previous) VALUES "
                + ", ".join(["(?, ?, 1, 0)"] * len(keys))
                + " ON CONFLICT (key) DO UPDATE SET "
                "previous = CASE WHEN rate_limit_hits.minute = excluded.minute THEN rate_limit_hits.previous "
                "WHEN rate_limit_hits.minute = excluded.minute - 1 THEN rate_limit_hits.hits ELSE 0 END, "
                "hits = CASE WHEN rate_limit_hits.minute = excluded.minute THEN rate_limit_hits.hits + 1 ELSE 1 END, "
                "minute = excluded.minute RETURNING key, hits, previous",
                [value for key in keys for value in (key, int(minute))]).fetchall()
            wait = max(_sliding_wait(hits, previous, limits[key], into) for key, hits, previous in rows)
            if wait:  # a refused look-up is not counted: a caller that waits its Retry-After gets through then
                conn.execute(f"UPDATE rate_limit_hits SET hits = hits - 1 WHERE minute = ? AND key IN "
                             f"({', '.join('?' * len(keys))})", [int(minute), *keys])
            if int(minute) > self._swept:
                self._swept = int(minute)
                conn.execute("DELETE FROM rate_limit_hits WHERE minute < ?", [int(minute) - 1])
        return wait


def _sliding_wait(hits: int, previous: int, limit: float, into: float) -> float:
    """Seconds until ``previous`` weighed by the unexpired part of its minute plus ``hits`` is within ``limit``
    (0: it is now); ``into`` is how far into the current minute we are."""
    if previous * (1 - into / WINDOW_S) + hits <= limit:
        return 0.0
    if hits > limit:  # only the next minute brings relief
        return WINDOW_S - into
    # previous * (1 - t / WINDOW_S) + hits <= limit  ⇔  t >= WINDOW_S * (1 - (limit - hits) / previous)
    return WINDOW_S * (1 - (limit - hits) / previous) - into
