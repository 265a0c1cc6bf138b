"""The status SMS waiting to go: a table in the backend's store, written in the same transaction as the change.

A dossier's status change and its message commit together (:func:`enqueue` takes the transaction's connection),
so a crash or a gateway that is down loses nothing: the row waits until the sender (``backend.sms_sender``) gets
it through. A row holds the dossier code, the event and the text, never the phone number: the sender reads the
number from the dossier when it sends, so forgetting a dossier's contact (the retention rule) leaves no copy here
and a message whose number is gone is given up, not sent.

Several backend processes on one PostgreSQL database share the table: a sender *claims* due rows for a lease
(under the ``sms_outbox`` lock, which holds across processes), so one message is in one process's hands at a
time; a process that dies mid-send leaves the lease to run out and another one sends it again with the same
request id, which the provider drops as a repeat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from contracts.sqldb import Connection, Database

PENDING, SENT, GIVEN_UP = "pending", "sent", "given_up"
LOCK = "sms_outbox"


def epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def enqueue(conn: Connection, code: str, event: str, text: str, now: dt.datetime) -> None:
    """Add a message for dossier ``code`` inside the caller's transaction; due at once."""
    conn.execute("INSERT INTO sms_outbox (dossier_code, event, text, state, attempts, due_ms, claimed_until_ms, "
                 "created_at) VALUES (?, ?, ?, 'pending', 0, ?, 0, ?)",
                 [code, event, text, epoch_ms(now), now.isoformat(timespec="seconds")])


@dataclass(frozen=True)
class Claimed:
    """A message in one sender's hands until its lease runs out; ``phone`` None when the dossier has none now."""

    id: int
    code: str
    event: str
    text: str
    phone: str | None
    attempts: int
    created_at: str

    @property
    def request_id(self) -> str:
        """The same on every attempt, so the provider sends it once however often it is tried."""
        return f"dossier-sms-{self.id}"


class SmsOutbox:
    """Claims and outcomes of the queued messages in ``db`` (the backend store's database)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, now: dt.datetime, *, limit: int = 20, lease: dt.timedelta = dt.timedelta(minutes=2)
              ) -> list[Claimed]:
        """Up to ``limit`` due messages, oldest first, leased to the caller until ``now + lease``."""
        now_ms = epoch_ms(now)
        # an idle pass (the usual one) is one indexed read, without the write lock every process would queue for
        if not self.db.query("SELECT 1 FROM sms_outbox WHERE state = 'pending' AND due_ms <= ? "
                             "AND claimed_until_ms <= ? LIMIT 1", [now_ms, now_ms]):
            return []
        with self.db.transaction(lock=LOCK) as conn:
            rows = conn.execute(
                "SELECT o.id, o.dossier_code, o.event, o.text, CASE WHEN d.sms_consent = 1 THEN d.phone END, "
                "o.attempts, o.created_at FROM sms_outbox o LEFT JOIN dossiers d ON d.code = o.dossier_code "
                "WHERE o.state = 'pending' AND o.due_ms <= ? AND o.claimed_until_ms <= ? ORDER BY o.id LIMIT ?",
                [now_ms, now_ms, limit]).fetchall()
            conn.executemany("UPDATE sms_outbox SET claimed_until_ms = ? WHERE id = ?",
                             [(now_ms + int(lease.total_seconds() * 1000), row[0]) for row in rows])
        return [Claimed(*row) for row in rows]

    def sent(self, claimed: Claimed, provider_id: str, now: dt.datetime) -> None:
        self._finish(claimed, SENT, now, provider_id=provider_id)

    def give_up(self, claimed: Claimed, reason: str, now: dt.datetime) -> None:
        self._finish(claimed, GIVEN_UP, now, error=reason)

    def retry_at(self, claimed: Claimed, reason: str, due: dt.datetime) -> None:
        """Try again at ``due`` (the lease ends: any sender may take it then)."""
        with self.db.connection() as conn:
            conn.execute("UPDATE sms_outbox SET attempts = attempts + 1, due_ms = ?, claimed_until_ms = 0, "
                         "last_error = ? WHERE id = ? AND state = 'pending'", [epoch_ms(due), reason[:300], claimed.id])

    def _finish(self, claimed: Claimed, state: str, now: dt.datetime, *, provider_id: str | None = None,
                error: str | None = None) -> None:
        with self.db.connection() as conn:
            conn.execute("UPDATE sms_outbox SET state = ?, attempts = attempts + 1, done_at = ?, provider_id = ?, "
                         "last_error = ? WHERE id = ? AND state = 'pending'",
                         [state, now.isoformat(timespec="seconds"), provider_id, error and error[:300], claimed.id])

    def counts(self) -> dict[str, int]:
        """Messages per state (pending, sent, given_up): what an operator checks when citizens say nothing came."""
        return {state: count for state, count in
                self.db.query("SELECT state, COUNT(*) FROM sms_outbox GROUP BY state")}

    def rows(self, code: str) -> list[dict[str, object]]:
        """Every message of dossier ``code``, oldest first (state, event, attempts, last error; no phone)."""
        found = self.db.query("SELECT event, state, attempts, last_error, text FROM sms_outbox WHERE dossier_code = ? "
                              "ORDER BY id", [code])
        return [dict(zip(("event", "state", "attempts", "last_error", "text"), row)) for row in found]

    def purge_finished(self, before: dt.datetime) -> int:
        """Delete the sent and given-up messages finished before ``before``; returns how many."""
        with self.db.transaction(lock=LOCK) as conn:
            cursor = conn.execute("DELETE FROM sms_outbox WHERE state <> 'pending' AND done_at < ?",
                                  [before.isoformat(timespec="seconds")])
            return max(cursor.rowcount, 0)
