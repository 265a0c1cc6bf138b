"""Reads for the pages, cheaply: the head of a counter's line and its figures for the day, and the look-ups of
the tracking page (an offline ticket by its request id, where a transferred ticket went).

``QueueEngine.waiting`` computes people ahead and a wait estimate for every waiting ticket (about 0.13 ms each:
100 ms for a line of 800), and ``QueueEngine.report`` reads the whole day. A counter page needs neither: it shows
the first tickets of its line and its own figures, and 20 counters poll every 5 s while kiosks issue. These
queries use the engine's indexes (``tickets_line``, ``tickets_counter``, the unique ``request_id``,
``tickets_day_counter``) on the database's reading connection (``Database.reading``: on SQLite a read-only
connection of its own, so WAL readers never block the engine's writes; on PostgreSQL a pooled one), in well under
a millisecond. Figures come from the same ``report.summarize`` as the daily report, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from queueing.engine import QueueEngine
from queueing.report import summarize

_COLUMNS = "id, number, service, priority, issued_at, kiosk_id"


class ReadViews:
    def __init__(self, engine: QueueEngine) -> None:
        self._db = engine.db

    def line(self, day: date, services: Sequence[str], limit: int) -> tuple[list[dict[str, Any]], int]:
        """The first ``limit`` waiting tickets of ``services`` in call order (priority first, then by place; the
        engine's order), and how many wait in all."""
        if not services:
            return [], 0
        marks = ",".join("?" * len(services))
        where = f"WHERE day = ? AND state = 'waiting' AND service IN ({marks})"
        args = [day.isoformat(), *services]
        with self._db.reading() as conn:
            cursor = conn.execute(f"SELECT {_COLUMNS} FROM tickets {where} "
                                  "ORDER BY priority IS NULL, queue_at, rowid LIMIT ?", [*args, limit])
            names = [c[0] for c in cursor.description]
            head = [dict(zip(names, row)) for row in cursor.fetchall()]
            return head, conn.execute(f"SELECT COUNT(*) FROM tickets {where}", args).fetchone()[0]

    def figures(self, day: date, counter: int) -> dict[str, Any] | None:
        """The counter's row of the daily report (None before its first call of the day)."""
        with self._db.reading() as conn:
            cursor = conn.execute("SELECT * FROM tickets WHERE counter = ? AND day = ? ORDER BY queue_at, rowid",
                                  [counter, day.isoformat()])
            names = [c[0] for c in cursor.description]
            rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        return next(iter(summarize(day, rows)["counters"]), None)

    def by_request(self, request_id: str) -> str | None:
        """The id of the ticket issued (or reported) under ``request_id``."""
        rows = self._db.query("SELECT id FROM tickets WHERE request_id = ?", [request_id])
        return rows[0][0] if rows else None

    def successor(self, day: date, ticket_id: str) -> str | None:
        """The ticket a transfer made from ``ticket_id`` (same day)."""
        rows = self._db.query("SELECT id FROM tickets WHERE day = ? AND transferred_from = ?",
                              [day.isoformat(), ticket_id])
        return rows[0][0] if rows else None
