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

Cost: issuing must not slow down as the line grows, so nothing here counts a line through. Line lengths are a row
of ``line_counts``; a ticket's place is counted from the nearer end of its line (``_place``); the average reads the
last finished tickets from an index and the counters serving are one index look-up per configured counter; both
are read at most once a second per process (``WaitInputs``).
"""

from __future__ import annotations

import statistics
import threading
import time
from datetime import datetime

from contracts.sqldb import Connection

DEFAULT_SERVICE_S = 300  # five minutes per citizen until there is data
RECENT_FOR_AVERAGE = 20

# One line: the waiting tickets of a service and day, priority or not; the partial index tickets_line
# (day, service, priority IS NULL, queue_at[, rowid]) holds it in call order (rowid, the tie-break, is in every
# SQLite entry and named in PostgreSQL's).
_LINE = "FROM tickets WHERE day = ? AND service = ? AND state = 'waiting' AND (priority IS NULL) = ?"
# the first term of each lets the index narrow the range
_BEFORE = " AND queue_at <= ? AND (queue_at, rowid) < (?, ?)"
_AFTER = " AND queue_at >= ? AND (queue_at, rowid) > (?, ?)"
FIRST_PROBE = 16  # index entries counted from each end in the first turn


# how many wait in one line: a row of ``line_counts``, which triggers keep exact (``queueing.db``)
_LENGTH = "SELECT waiting FROM line_counts WHERE day = ? AND service = ? AND ordinary = ?"



def people_ahead(conn: Connection, day: str, service: str, priority: str | None, queue_at: str,
                 rowid: int) -> int:
    """People ahead of a waiting ticket (see the module's docstring), without counting the line through.

    The lengths of both lines and the first probe from each end are one statement: one round trip to PostgreSQL,
    and one snapshot, so the figures agree even while other processes change the line. Only a ticket more than
    ``FIRST_PROBE`` from both ends (the middle of a long line) takes further probes (``_place``)."""
    ordinary = priority is None
    line, ticket = [day, service, ordinary], [queue_at, queue_at, rowid]
    probe = f"SELECT COUNT(*) FROM (SELECT 1 {_LINE}{{}} LIMIT ?) AS entries"
    length, priority_line, before, after = conn.execute(
        f"SELECT ({_LENGTH}), ({_LENGTH}), ({probe.format(_BEFORE)}), ({probe.format(_AFTER)})",
        [*line, day, service, False, *line, *ticket, FIRST_PROBE, *line, *ticket, FIRST_PROBE]).fetchone()
    length = length or 0
    if before < FIRST_PROBE:
        place = before
    elif after < FIRST_PROBE:
        place = length - 1 - after
    else:
        place = _place(conn, line, ticket, length, FIRST_PROBE * 4)
    return place + ((priority_line or 0) if ordinary else 0)


def at_the_back(day: str, service: str, priority: str | None, queue_at: str) -> tuple[str, list[object]]:
    """SQL expressions (``, a, b, c``) and their parameters that tell, read just before a new ticket queued at
    ``queue_at`` joins its line, how many people will be ahead of it (``ahead_at_the_back``): the lines' lengths
    and the tickets queued after it (another process's clock a little ahead), up to ``FIRST_PROBE``. The engine
    reads them in the statement that takes the number (``numbering.take``): no round trip of their own."""
    ordinary = priority is None
    later = f"(SELECT COUNT(*) FROM (SELECT 1 {_LINE} AND queue_at > ? LIMIT ?) AS later)"
    return f", ({_LENGTH}), ({_LENGTH}), {later}", [day, service, ordinary, day, service, False,
                                                     day, service, ordinary, queue_at, FIRST_PROBE]


def ahead_at_the_back(priority: str | None, figures: tuple[int | None, ...] | None) -> int | None:
    """People ahead of the new ticket from ``at_the_back``'s figures; None when they were not read or too many were
    queued after it (``people_ahead`` then counts, once it joined). Every ticket waiting in its line before it
    joined and queued no later than it is ahead of it: it gets the line's last rowid."""
    if figures is None or figures[2] >= FIRST_PROBE:
        return None
    length, priority_line, later = figures
    return (length or 0) - later + ((priority_line or 0) if priority is None else 0)


def _place(conn: Connection, line: list[object], ticket: list[object], length: int, probe: int) -> int:
    """How many of the ``length`` tickets waiting in ``line``, this one among them, come before it.

    SQLite counts an index range entry by entry, so this counts from the nearer end of the line: a few entries
    from the front, then from the back, then four times as many from each, and so on (``people_ahead`` made the
    first turn; this goes on with ``probe`` entries). A ticket near either end (a new ticket is at the back, the
    next to be called at the front) costs a few index steps; one in the middle of the line about as many as the
    line is long, as counting from the front always did.
    """
    while True:
        before = _count(conn, _BEFORE, line, ticket, probe)
        if before < probe:
            return before
        after = _count(conn, _AFTER, line, ticket, probe)
        if after < probe:
            return length - 1 - after
        probe *= 4


def _count(conn: Connection, side: str, line: list[object], ticket: list[object], limit: int) -> int:
    """Entries on one ``side`` of ``ticket`` in ``line``, counting no further than ``limit``."""
    return conn.execute(f"SELECT COUNT(*) FROM (SELECT 1 {_LINE}{side} LIMIT ?) AS entries",
                        [*line, *ticket, limit]).fetchone()[0]


def average_service_s(conn: Connection, service: str) -> float:
    rows = conn.execute(
        "SELECT COALESCE(serving_at, called_at), finished_at FROM tickets WHERE service = ? AND state = 'done' "
        "AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?", [service, RECENT_FOR_AVERAGE]).fetchall()
    durations = [(datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
                 for start, end in rows if start]
    return statistics.fmean(durations) if durations else DEFAULT_SERVICE_S


def open_counters(conn: Connection, day: str, service: str, configured: list[int]) -> int:
    # one index look-up (tickets_day_counter) per configured counter, not a pass over the day's called tickets,
    # all in one statement (one round trip to PostgreSQL)
    counters = sorted(set(configured))
    if not counters:
        return 1
    probes = ", ".join(["(SELECT 1 FROM tickets WHERE day = ? AND service = ? AND counter = ? LIMIT 1)"] *
                       len(counters))
    found = conn.execute(f"SELECT {probes}", [v for c in counters for v in (day, service, c)]).fetchone()
    working = sum(1 for hit in found if hit)
    return max(1, working or len(configured))


class WaitInputs:
    """The estimate's inputs (average service time, counters serving) per service and day, read at most once per
    ``FRESH_S`` in a process: every ticket issued and every board refresh prints an estimate, and on PostgreSQL
    reading them is two round trips more per ticket.

    The engine calls :meth:`changed` after each call, finish or other move of a ticket it made, so in one process
    the figures are always those on file; a call or finish made by another process of the server shows in this
    one's estimates within ``FRESH_S``. An estimate rounds to whole minutes of a line anyway.
    """

    FRESH_S = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], tuple[float, float, int]] = {}  # (day, service) → (read at, avg, counters)
        self._generation = 0  # moves on every change: a read that began before it is not kept

    def changed(self) -> None:
        """A ticket was called or finished here: read the inputs afresh."""
        with self._lock:
            self._generation += 1
            self._kept.clear()

    def wait_s(self, conn: Connection, day: str, service: str, ahead: int, configured: list[int]) -> int:
        """Estimated wait for ``ahead`` people before the citizen (see the module's docstring)."""
        if ahead == 0:
            return 0
        now = time.monotonic()
        with self._lock:
            kept, generation = self._kept.get((day, service)), self._generation
        if kept is not None and now - kept[0] < self.FRESH_S:
            average, counters = kept[1], kept[2]
        else:
            average, counters = average_service_s(conn, service), open_counters(conn, day, service, configured)
            with self._lock:
                if generation == self._generation:
                    self._kept[(day, service)] = (now, average, counters)
        return round(ahead * average / counters)
