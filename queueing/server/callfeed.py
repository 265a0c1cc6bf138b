"""Calls made on one server process reach the display boards and counter pages of every other, on PostgreSQL.

Several processes (``--workers``, or hosts behind a proxy) share one PostgreSQL database; a counter calls on one and
boards stream ``/api/events`` from any. The calling process records and publishes its call at once, as a single
process does, and sends it as ``NOTIFY queue_calls`` with the call as payload; each process runs one listener
thread on a connection of its own (``LISTEN queue_calls``) that puts the other processes' calls on its board and
hands them to its event streams on the event loop. NOTIFY is delivered on commit, within milliseconds.

If the listening connection drops (PostgreSQL restarted), the thread reconnects with a growing pause and rebuilds
the board from the day's tickets, so calls made meanwhile still show; the board streams resync at their next
heartbeat. On SQLite there is one process and no listener.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any

from contracts.sqldb import Database

log = logging.getLogger(__name__)
CHANNEL = "queue_calls"
POLL_S = 1.0      # how often the listener looks at its stop flag
MAX_PAUSE_S = 5.0  # longest wait between reconnection attempts


class CallFeed:
    def __init__(self, db: Database, deliver: Callable[[dict[str, Any]], None], resync: Callable[[], None]) -> None:
        """:param deliver: called on the listener thread with each call another process made.
        :param resync: called on the listener thread after it reconnected (calls may have been missed)."""
        self._db = db
        self._deliver = deliver
        self._resync = resync
        self._origin = secrets.token_hex(8)  # tells this process's own notifications apart
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if db.dialect == "postgresql":
            self._thread = threading.Thread(target=self._listen, name="queue-call-feed", daemon=True)
            self._thread.start()

    def send(self, call: dict[str, Any]) -> None:
        """Tell the other processes about ``call`` (JSON-ready); nothing to do on SQLite."""
        if self._thread is not None:
            self._notify({"origin": self._origin, "call": call})

    def _notify(self, message: dict[str, Any]) -> None:
        with self._db.connection() as conn:
            conn.execute("SELECT pg_notify(?, ?)", [CHANNEL, json.dumps(message)])

    def _listen(self) -> None:
        pause, first = 0.1, True
        while not self._stop.is_set():
            try:
                conn = self._db.dedicated()  # type: ignore[attr-defined]
            except Exception as exc:  # PostgreSQL down: try again later
                log.warning("call feed cannot connect: %s", exc)
                self._stop.wait(pause)
                pause = min(pause * 2, MAX_PAUSE_S)
                continue
            try:
                conn.execute(f"LISTEN {CHANNEL}")
                if not first:
                    self._resync()
                first, pause = False, 0.1
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=POLL_S):
                        if self._stop.is_set():
                            break
                        self._receive(note.payload)
            except Exception as exc:  # the connection dropped: reconnect and resync
                log.warning("call feed lost its connection: %s", exc)
            finally:
                conn.close()
            self._stop.wait(pause)

    def _receive(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message["origin"] != self._origin and "call" in message:  # not our own, nor a wake-up
                self._deliver(message["call"])
        except Exception:  # one bad message must not stop the feed
            log.exception("call feed could not take a call")

    def close(self) -> None:
        self._stop.set()
        if self._thread is None:
            return
        try:  # wake the listener now rather than at its next poll
            self._notify({"origin": self._origin})
        except Exception:  # noqa: BLE001 — the database is gone: the listener stops at its next poll
            pass
        self._thread.join(timeout=POLL_S * 3)
