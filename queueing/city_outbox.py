"""The branch's outbox of figures for the city: snapshots numbered in order, kept until the backend has them.

A snapshot is committed to the queue's database (table ``city_outbox``, ``queueing.db``) before anything is sent,
so a backend outage, a network cut or a ``kill -9`` of the server loses none: whatever is unsent is delivered,
oldest first, once the backend answers again (``queueing.server.city_sender``). Every snapshot takes the next
``seq`` of the centre; the backend keeps each (centre, seq) once, so sending a batch again after a lost answer is
harmless.

Numbering starts at the time of the first snapshot in milliseconds (:func:`first_seq`), then goes up by one per
snapshot.

One snapshot per slot: the slot is a key (the report interval's number since the epoch) that is unique in the
table, so the processes of a server sharing one PostgreSQL database, each with its own timer, record one snapshot
per interval between them; two processes taking adjacent slots at nearly the same moment may number them in the
order they commit rather than the order of their times (the backend orders a centre's history by time).

Bounded: snapshots still unsent after :data:`KEEP_UNSENT` are dropped (with a log line: the city has lost those
figures for good), delivered and dead-lettered ones go after :data:`KEEP_SENT` and :data:`KEEP_UNSENT`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from contracts.sqldb import Database, lock_key

log = logging.getLogger(__name__)
KEEP_UNSENT = timedelta(days=7)
KEEP_SENT = timedelta(days=1)
DEAD_AFTER = 3  # refusals (422) of one snapshot sent alone before it is set aside
LOCK = "city_outbox"  # numbering snapshots (PostgreSQL: across processes)
UNNUMBERED = 1  # city_outbox_seq.next_seq of a database that never took a snapshot
ROWS = "city_outbox_rows"  # marking and trimming rows: never waits for a numbering, nor it for a send


def first_seq(at_s: float) -> int:
    """The first seq of a database: the snapshot's time in milliseconds. A branch whose queue database is replaced
    by a new one (a new disk, a restore that lost the table) keeps numbering above every seq it sent before, as
    long as it took fewer than 1,000 snapshots a second, so the backend never mistakes its new reports for
    duplicates of old ones."""
    return int(at_s * 1000)


@dataclass(frozen=True)
class Pending:
    seq: int
    report: dict[str, Any]  # with its seq, ready to send
    size: int  # bytes of its JSON


class CityOutbox:
    """The ``city_outbox`` table of a queue database (SQLite or PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, slot: str, report: dict[str, Any], at_s: float) -> int | None:
        """Keep ``report`` (without ``seq``) as the snapshot of ``slot``; returns its seq, or None when the slot
        already has one (another process of the server took it)."""
        with self.db.transaction(LOCK) as conn:
            if conn.execute("SELECT 1 FROM city_outbox WHERE slot = ?", [slot]).fetchone():
                return None
            seq = conn.execute(
                "UPDATE city_outbox_seq SET next_seq = CASE WHEN next_seq = ? THEN ? ELSE next_seq END + 1 "
                "WHERE id = 1 RETURNING next_seq - 1", [UNNUMBERED, first_seq(at_s)]).fetchone()[0]
            conn.execute("INSERT INTO city_outbox (seq, slot, at_s, report) VALUES (?, ?, ?, ?)",
                         [seq, slot, at_s, json.dumps({**report, "seq": seq}, ensure_ascii=False)])
        return seq

    def pending(self, limit: int, max_bytes: int) -> list[Pending]:
        """The oldest unsent snapshots, at most ``limit`` of them and ``max_bytes`` together (at least one)."""
        rows = self.db.query("SELECT seq, report FROM city_outbox WHERE sent_at_s IS NULL AND dead = 0 "
                             "ORDER BY seq LIMIT ?", [limit])
        batch: list[Pending] = []
        total = 0
        for seq, text in rows:
            size = len(text.encode())
            if batch and total + size > max_bytes:
                break
            batch.append(Pending(seq, json.loads(text), size))
            total += size
        return batch

    def unsent(self) -> int:
        return self.db.query("SELECT COUNT(*) FROM city_outbox WHERE sent_at_s IS NULL AND dead = 0")[0][0]

    def delivered(self, seqs: list[int], now_s: float) -> None:
        with self.db.transaction(ROWS) as conn:
            conn.executemany("UPDATE city_outbox SET sent_at_s = ? WHERE seq = ?", [(now_s, seq) for seq in seqs])

    def refused(self, seq: int) -> bool:
        """Count a refusal of snapshot ``seq`` sent alone; True when that made it dead (set aside, never sent)."""
        with self.db.transaction(ROWS) as conn:
            tries = conn.execute("UPDATE city_outbox SET tries = tries + 1 WHERE seq = ? RETURNING tries",
                                 [seq]).fetchone()[0]
            if tries < DEAD_AFTER:
                return False
            conn.execute("UPDATE city_outbox SET dead = 1 WHERE seq = ?", [seq])
        return True

    def trim(self, now_s: float) -> int:
        """Drop what is past keeping; returns how many unsent snapshots were lost (logged by the caller)."""
        with self.db.transaction(ROWS) as conn:
            conn.execute("DELETE FROM city_outbox WHERE sent_at_s < ?", [now_s - KEEP_SENT.total_seconds()])
            too_old = now_s - KEEP_UNSENT.total_seconds()
            conn.execute("DELETE FROM city_outbox WHERE dead = 1 AND at_s < ?", [too_old])
            return conn.execute("DELETE FROM city_outbox WHERE sent_at_s IS NULL AND at_s < ?", [too_old]).rowcount

    @contextmanager
    def sending(self) -> Iterator[bool]:
        """Whether this process may send now: on PostgreSQL only one process of the server at a time does (a
        transaction-scoped try-lock held while it sends: another process skips its turn instead of sending the same
        batch, and a process killed mid-send releases it with its connection); SQLite has one process. On
        PostgreSQL what the sender marks meanwhile commits when the block ends."""
        if self.db.dialect != "postgresql":
            yield True
            return
        with self.db.connection() as conn, conn.raw.transaction():  # type: ignore[attr-defined]
            yield conn.execute("SELECT pg_try_advisory_xact_lock(?)", [lock_key("city_sender")]).fetchone()[0]
