"""Numbers taken from a phone ("virtual" numbers): the SQL the engine runs for them, inside its transactions.

A number from a phone is a ticket like a printed one — same table, same numbering (``numbering.take``), a place in
the same line by ``queue_at`` — in state ``virtual`` until its holder checks in at a kiosk (the page's QR) or a
counter (the number typed in); it then becomes ``waiting`` with its original ``queue_at``, so it keeps its place.
A counter calls ``waiting`` tickets only: a call that goes past virtual numbers queued before the one it calls
stamps their ``passed_over_at``, and upkeep skips those still virtual ``grace`` later (``no_show`` with
``skip_reason`` ``not_checked_in``); such a number may be re-queued once, at the end of the line.

``line_counts`` and the ``tickets_line`` index hold state ``waiting`` only, so printed tickets' figures are the
same as before; a virtual number's people ahead are counted here, from both lines (``tickets_virtual`` index).
"""

from __future__ import annotations

import bisect
import hashlib
import secrets
import threading
import time
from typing import Any

from contracts.sqldb import Connection
from queueing.errors import HasActiveNumber, PhoneCapReached

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: read aloud or typed, nothing is mistaken
CODE_LENGTH = 10  # 50 random bits: a check-in code cannot be guessed
ACTIVE = ("virtual", "waiting", "called", "serving")  # a phone holds at most one number in these a day
NOT_CHECKED_IN = "not_checked_in"
NEAR_NOTIFIED, SKIP_NOTIFIED = 1, 2  # ``tickets.notified``: which SMS the holder was sent
_ACTIVE_SQL = ", ".join(f"'{state}'" for state in ACTIVE)


def new_checkin_code() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(CODE_LENGTH))


def new_view_token() -> str:
    """The secret in a phone page's link: whoever has it sees (and may cancel) the number."""
    return secrets.token_urlsafe(24)


def digest(secret: str) -> str:
    """How a secret (a page's view token) is kept: a leaked database names no page to open."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_allowed(conn: Connection, day: str, phone: str, max_per_day: int) -> None:
    """:raises HasActiveNumber: ``phone`` holds an unfinished number today.
    :raises PhoneCapReached: ``max_per_day`` numbers were taken from phones today."""
    taken, active = conn.execute(
        "SELECT (SELECT COUNT(*) FROM tickets WHERE day = ? AND phone IS NOT NULL), "
        f"(SELECT COUNT(*) FROM tickets WHERE day = ? AND phone = ? AND state IN ({_ACTIVE_SQL}))",
        [day, day, phone]).fetchone()
    if active:
        raise HasActiveNumber("this phone already holds a number here today")
    if taken >= max_per_day:
        raise PhoneCapReached(f"the centre gave out its {max_per_day} numbers from phones for today")


class Places:
    """People ahead of a virtual number, for the phones polling their page (2,000 every 20 s at a big centre).

    Counting a line of a thousand numbers through its index costs about 0.4 ms a poll, most of a poll's cost, so
    each (day, service) line's keys — (queue_at, rowid) of its ordinary waiting tickets and of its virtual numbers,
    plus how many priority tickets wait — are read at most once per ``FRESH_S`` in a process and a place is two
    bisections. The engine calls :meth:`changed` after every move of a ticket it makes (a call, a check-in, a
    skip …), so in one process a page shows the line as it is; another process's moves show within ``FRESH_S``,
    well inside a page's 20 s. A new number needs no re-read: it joins at the back, behind every kept key.
    """

    FRESH_S = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], tuple[float, int, list[tuple[str, int]], list[tuple[str, int]]]] = {}
        self._generation = 0  # moves on every change: a read that began before it is not kept

    def changed(self) -> None:
        with self._lock:
            self._generation += 1
            self._kept.clear()

    def ahead(self, conn: Connection, day: str, service: str, queue_at: str, rowid: int) -> int:
        """Everyone before a virtual number in its line: waiting priority tickets, then ordinary waiting tickets
        and virtual numbers queued before it (a virtual number is always ordinary)."""
        now = time.monotonic()
        with self._lock:
            kept, generation = self._kept.get((day, service)), self._generation
        if kept is None or now - kept[0] >= self.FRESH_S:
            kept = (now, *_line_keys(conn, day, service))
            with self._lock:
                if generation == self._generation:
                    self._kept[(day, service)] = kept
        _read_at, priority, waiting, virtual = kept
        key = (queue_at, rowid)
        return priority + bisect.bisect_left(waiting, key) + bisect.bisect_left(virtual, key)


def _line_keys(conn: Connection, day: str, service: str) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """Waiting priority tickets, and the sorted keys of the ordinary waiting tickets and the virtual numbers."""
    priority = conn.execute("SELECT waiting FROM line_counts WHERE day = ? AND service = ? AND ordinary = ?",
                            [day, service, False]).fetchone()
    keys = [[(queue_at, rowid) for queue_at, rowid in conn.execute(
        f"SELECT queue_at, rowid FROM tickets WHERE day = ? AND service = ? AND {where} ORDER BY queue_at, rowid",
        [day, service, *parameters]).fetchall()]
        for where, parameters in (("state = 'waiting' AND (priority IS NULL) = ?", [True]),
                                  ("state = 'virtual'", []))]
    return (priority[0] if priority else 0) or 0, keys[0], keys[1]


def virtual_counts(conn: Connection, day: str) -> dict[str, int]:
    """Virtual numbers not checked in yet, per service."""
    return dict(conn.execute("SELECT service, COUNT(*) FROM tickets WHERE day = ? AND state = 'virtual' "
                             "GROUP BY service", [day]).fetchall())


def line_head(conn: Connection, day: str, service: str, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` of a service's line, waiting and virtual numbers together, in call order (priority
    first, then by place); each with its id, state, phone, notified and number."""
    columns = "id, state, phone, notified, number, priority IS NULL AS ordinary, queue_at, rowid"
    rows = []
    for state, order in (("waiting", "priority IS NULL, queue_at, rowid"), ("virtual", "queue_at, rowid")):
        cursor = conn.execute(f"SELECT {columns} FROM tickets WHERE day = ? AND service = ? AND state = ? "
                              f"ORDER BY {order} LIMIT ?", [day, service, state, limit])
        names = [c[0] for c in cursor.description]
        rows += [dict(zip(names, row)) for row in cursor.fetchall()]
    rows.sort(key=lambda row: (bool(row["ordinary"]), row["queue_at"], row["rowid"]))
    return rows[:limit]


def pass_over(conn: Connection, day: str, services: list[str], called: tuple[str, int], now: str) -> None:
    """A counter called the ticket at ``called`` (its queue_at and rowid, the line's order): the virtual numbers of
    ``services`` before it were passed over (their grace runs from the first time)."""
    marks = ", ".join("?" * len(services))
    conn.execute(f"UPDATE tickets SET passed_over_at = ? WHERE day = ? AND service IN ({marks}) "
                 "AND state = 'virtual' AND passed_over_at IS NULL AND queue_at <= ? AND (queue_at, rowid) < (?, ?)",
                 [now, day, *services, called[0], called[0], called[1]])


def upkeep_due(conn: Connection, passed_before: str, today: str) -> bool:
    """Whether :func:`skip_unchecked` or :func:`forget_phones` has anything to do (read only)."""
    return any(conn.execute(
        "SELECT (SELECT 1 FROM tickets WHERE state = 'virtual' AND passed_over_at <= ? LIMIT 1), "
        "(SELECT 1 FROM tickets WHERE day < ? AND phone IS NOT NULL LIMIT 1)", [passed_before, today]).fetchone())


def skip_unchecked(conn: Connection, passed_before: str, now: str) -> int:
    """Skip the virtual numbers passed over at or before ``passed_before`` (their grace is over); returns how many."""
    return conn.execute(
        "UPDATE tickets SET state = 'no_show', skip_reason = ?, finished_at = ? "
        "WHERE state = 'virtual' AND passed_over_at IS NOT NULL AND passed_over_at <= ?",
        [NOT_CHECKED_IN, now, passed_before]).rowcount


def forget_phones(conn: Connection, today: str) -> None:
    """Phone numbers are kept for today's numbers only."""
    conn.execute("UPDATE tickets SET phone = NULL WHERE day < ? AND phone IS NOT NULL", [today])
