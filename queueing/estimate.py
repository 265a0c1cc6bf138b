"""How many people are ahead of a ticket, and how long that is likely to take.

people ahead (approximate on purpose): the waiting tickets of the same service and day that the priority rule puts
first — for a priority ticket, the priority tickets queued before it; for an ordinary ticket, every waiting
priority ticket plus the ordinary ones queued before it. It ignores the "N priority calls in a row" policy (which
lets an ordinary ticket overtake now and then) and counters that also serve other services; both only make the
figure slightly pessimistic.

estimated wait = people ahead × average service time of the last ``RECENT_FOR_AVERAGE`` finished tickets of the
service ÷ counters serving it. Counters serving it = the configured counters that already called a ticket of the
service today, or all configured counters before any did. Before any ticket was finished the average is
``DEFAULT_SERVICE_S``.
"""

from __future__ import annotations

import sqlite3
import statistics
from datetime import datetime

DEFAULT_SERVICE_S = 300  # five minutes per citizen until there is data
RECENT_FOR_AVERAGE = 20

# "Waiting, same service and day" is the partial index tickets_line: (day, service, priority IS NULL, queue_at).
_LINE = "SELECT COUNT(*) FROM tickets WHERE day = ? AND service = ? AND state = 'waiting' AND (priority IS NULL) = ?"
_BEFORE = " AND queue_at <= ? AND (queue_at, rowid) < (?, ?)"  # the first term lets the index narrow the range


def people_ahead(conn: sqlite3.Connection, day: str, service: str, priority: str | None, queue_at: str,
                 rowid: int) -> int:
    place = [queue_at, queue_at, rowid]
    if priority is not None:
        return conn.execute(_LINE + _BEFORE, [day, service, False, *place]).fetchone()[0]
    priority_waiting = conn.execute(_LINE, [day, service, False]).fetchone()[0]
    return priority_waiting + conn.execute(_LINE + _BEFORE, [day, service, True, *place]).fetchone()[0]


def average_service_s(conn: sqlite3.Connection, service: str) -> float:
    rows = conn.execute(
        "SELECT COALESCE(serving_at, called_at), finished_at FROM tickets WHERE service = ? AND state = 'done' "
        "AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?", [service, RECENT_FOR_AVERAGE]).fetchall()
    durations = [(datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
                 for start, end in rows if start]
    return statistics.fmean(durations) if durations else DEFAULT_SERVICE_S


def open_counters(conn: sqlite3.Connection, day: str, service: str, configured: list[int]) -> int:
    active = {row[0] for row in conn.execute(
        "SELECT DISTINCT counter FROM tickets WHERE day = ? AND service = ? AND counter IS NOT NULL",
        [day, service]).fetchall()}
    working = active & set(configured)
    return max(1, len(working) or len(configured))


def estimate_wait_s(conn: sqlite3.Connection, day: str, service: str, ahead: int, configured: list[int]) -> int:
    if ahead == 0:
        return 0
    return round(ahead * average_service_s(conn, service) / open_counters(conn, day, service, configured))
