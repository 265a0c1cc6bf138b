"""What display boards show and how it reaches them: the calls of the day, pushed as Server-Sent Events.

``Board`` keeps the last call per counter and the most recent calls. It is rebuilt from the day's tickets when the
server starts, so a board that reconnects after a restart shows the same numbers, and it only ever shows calls of
the current local day: after midnight it is empty rather than stale.

``EventHub`` fans events out to every open ``/api/events`` stream. Each stream starts with a full ``status``
snapshot, gets a ``call`` event the moment a counter calls (or recalls) a number, and a fresh ``status`` every
``HEARTBEAT_S``; a board that hears nothing for a few heartbeats knows its connection is dead even when TCP has
not noticed. A stream ends after ``STREAM_LIFETIME_S`` and the browser's EventSource reconnects by itself, so no
connection (and no proxy state) lives for weeks. A subscriber that falls behind gets its backlog replaced by one
fresh snapshot instead of growing a queue without bound. The hub runs on the server's event loop; calls another
process made arrive on a listener thread (``callfeed``), so the board takes a lock and the hub has
:meth:`EventHub.publish_threadsafe`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from queueing.server.wire import to_json

HEARTBEAT_S = 10.0
STREAM_LIFETIME_S = 300.0
RETRY_MS = 2000          # how long EventSource waits before reconnecting
RECENT_CALLS = 10
BACKLOG = 64


@dataclass(frozen=True)
class Call:
    counter: int
    number: str
    service: str
    at: datetime
    recall: bool = False


class Board:
    def __init__(self, calls: Iterable[Call] = ()) -> None:
        self._lock = threading.Lock()
        self._last: dict[int, Call] = {}
        self._recent: deque[Call] = deque(maxlen=RECENT_CALLS)
        self.replace(calls)

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]]) -> Board:
        return cls(cls.calls_in(rows))

    @staticmethod
    def calls_in(rows: Iterable[dict[str, Any]]) -> list[Call]:
        """From ``QueueEngine.rows_for_day``: every ticket a counter called, at its last call time."""
        return [Call(row["counter"], row["number"], row["service"], datetime.fromisoformat(row["called_at"]),
                     row["recalls"] > 0) for row in rows if row["called_at"] and row["counter"] is not None]

    def replace(self, calls: Iterable[Call]) -> None:
        """Forget every call and record ``calls`` in time order."""
        with self._lock:
            self._last.clear()
            self._recent.clear()
        for call in sorted(calls, key=lambda c: c.at):
            self.record(call)

    def record(self, call: Call) -> None:
        with self._lock:
            self._last[call.counter] = call
            self._recent.appendleft(call)

    def last_per_counter(self, day: date) -> dict[int, Call]:
        with self._lock:
            return {counter: call for counter, call in self._last.items() if call.at.date() == day}

    def recent(self, day: date) -> list[Call]:
        with self._lock:
            return [call for call in self._recent if call.at.date() == day]


_RESYNC = ("status", None)


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(to_json(data), ensure_ascii=False)}\n\n"


class EventHub:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[tuple[str, Any]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the streams run on, once one opened

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, event: str, data: Any) -> None:
        for queue in self._subscribers:
            try:
                queue.put_nowait((event, data))
            except asyncio.QueueFull:
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(_RESYNC)

    def publish_threadsafe(self, event: str, data: Any) -> None:
        """:meth:`publish` from another thread (nothing to do before any stream opened: nobody listens)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.publish, event, data)

    async def stream(self, snapshot: Callable[[], Any], *, heartbeat_s: float = HEARTBEAT_S,
                     lifetime_s: float = STREAM_LIFETIME_S) -> AsyncIterator[str]:
        """The text of one SSE connection: a snapshot, then events and heartbeats until ``lifetime_s``."""
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(BACKLOG)
        self._subscribers.add(queue)
        loop = self._loop = asyncio.get_running_loop()
        ends = loop.time() + lifetime_s
        try:
            yield f"retry: {RETRY_MS}\n" + sse("status", snapshot())
            while (left := ends - loop.time()) > 0:
                try:
                    event, data = await asyncio.wait_for(queue.get(), timeout=min(heartbeat_s, left))
                except TimeoutError:
                    event, data = _RESYNC
                yield sse(event, snapshot() if data is None else data)
        finally:
            self._subscribers.discard(queue)
