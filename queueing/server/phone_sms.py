"""Text messages of the phone queue — one-time codes, "your turn is near", "you were skipped" — through an outbox.

A message is a row of ``sms_outbox`` written in the same transaction as what caused it (a code asked for, a ticket
reaching ``notify_ahead``, a skip), so a call or a check-in never waits on the gateway and a gateway outage loses
nothing: :class:`SmsSender`, a thread in each server process, sends due rows, retries transient failures with a
growing pause and gives up on refusals. Several processes share the outbox (PostgreSQL): a row is claimed by moving
its ``next_try`` forward before it is sent, so only one process sends it, and the gateway gets the row's request id
(eSMS drops a repeated one). A message that could no longer help is not sent: a code past its expiry, a message
of an earlier day. Logs show the phone masked and never the text.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from contracts.sms import SmsError, SmsGateway, mask_phone
from contracts.sqldb import Connection, Database

log = logging.getLogger(__name__)
BATCH = 20
IDLE_S = 1.0            # how often an idle sender looks for due messages (other processes' rows, retries)
CLAIM_S = 60.0          # a claimed row is another process's again after this (its sender died mid-send)
MAX_BACKOFF_S = 300.0
MAX_ATTEMPTS = 50       # about four hours of transient failures, then the message is given up


def enqueue(conn: Connection, *, request_id: str, day: str, phone: str, text: str, kind: str, now: float,
            expires: float | None = None) -> None:
    """Queue one message inside the caller's transaction (sent once: a repeated request id is ignored)."""
    conn.execute("INSERT INTO sms_outbox (request_id, day, phone, text, kind, state, attempts, next_try, expires) "
                 "VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (request_id) DO NOTHING",
                 [request_id, day, phone, text, kind, now, expires])


def backoff_s(attempts: int) -> float:
    return float(min(MAX_BACKOFF_S, 2 ** attempts))


class SmsSender:
    """Sends the outbox's due messages on its own thread; :meth:`wake` after queuing one to send it at once."""

    def __init__(self, db: Database, gateway: SmsGateway, today: Callable[[], str], *,
                 clock: Callable[[], float] = time.time, idle_s: float = IDLE_S,
                 upkeep: Callable[[], None] | None = None) -> None:
        """:param today: the local day (the engine's), so an earlier day's messages are dropped.
        :param upkeep: run on the thread before each look at the outbox (the queue's skips and notifications)."""
        self.db, self.gateway, self._today, self._clock, self._idle_s = db, gateway, today, clock, idle_s
        self._upkeep = upkeep
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sms-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._upkeep is not None:
                    self._upkeep()
                busy = self.send_due() == BATCH
            except Exception:  # the database away for a moment: the messages stay queued, try again
                log.warning("SMS outbox: could not read or update the outbox", exc_info=True)
                busy = False
            if not busy:
                self._wake.wait(self._idle_s)
                self._wake.clear()

    def send_due(self) -> int:
        """Send (or give up) up to ``BATCH`` due messages; returns how many were handled."""
        now, today = self._clock(), self._today()
        if not self.db.query("SELECT 1 FROM sms_outbox WHERE day < ? OR (state = 'pending' AND (next_try <= ? OR "
                             "expires < ?)) LIMIT 1", [today, now, now]):
            return 0  # it looks every second: an idle look is one read, never a write transaction
        with self.db.transaction("sms_outbox") as conn:  # phones are kept for today only; an old code is no use
            conn.execute("DELETE FROM sms_outbox WHERE day < ?", [today])
            conn.execute("UPDATE sms_outbox SET state = 'dropped', text = '' WHERE state = 'pending' AND expires < ?",
                         [now])
        rows = self.db.query("SELECT id, request_id, phone, text, kind, attempts, next_try FROM sms_outbox "
                             "WHERE state = 'pending' AND next_try <= ? ORDER BY next_try LIMIT ?", [now, BATCH])
        for row in rows:
            if self._claim(row[0], row[6], now):
                self._send(*row[:6])
        return len(rows)

    def _claim(self, row_id: int, next_try: float, now: float) -> bool:
        with self.db.transaction("sms_outbox") as conn:
            return conn.execute("UPDATE sms_outbox SET next_try = ? WHERE id = ? AND state = 'pending' AND "
                                "next_try = ?", [now + CLAIM_S, row_id, next_try]).rowcount == 1

    def _send(self, row_id: int, request_id: str, phone: str, text: str, kind: str, attempts: int) -> None:
        try:
            message_id = self.gateway.send(phone, text, request_id=request_id)
        except SmsError as exc:
            attempts += 1
            if exc.transient and attempts < MAX_ATTEMPTS:
                log.warning("SMS %s to %s not sent (attempt %d, will retry): %s", kind, mask_phone(phone), attempts,
                            exc)
                self._update(row_id, "pending", attempts, self._clock() + backoff_s(attempts))
            else:
                log.error("SMS %s to %s given up after %d attempts: %s", kind, mask_phone(phone), attempts, exc)
                self._update(row_id, "failed", attempts, self._clock())
            return
        log.info("SMS %s to %s sent (%s)", kind, mask_phone(phone), message_id)
        self._update(row_id, "sent", attempts + 1, self._clock())

    def _update(self, row_id: int, state: str, attempts: int, next_try: float) -> None:
        with self.db.transaction("sms_outbox") as conn:
            # a finished message keeps no text (a one-time code among them)
            conn.execute("UPDATE sms_outbox SET state = ?, attempts = ?, next_try = ?, text = CASE WHEN ? THEN text "
                         "ELSE '' END WHERE id = ?", [state, attempts, next_try, state == "pending", row_id])

