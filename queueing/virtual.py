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

import hashlib
import secrets
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


def ahead_of_virtual(conn: Connection, day: str, service: str, queue_at: str, rowid: int) -> int:
    """Everyone before a virtual number in its line: waiting priority tickets, then ordinary waiting and virtual
    numbers queued before it (a virtual number is always ordinary). One statement: one round trip."""
    before = "AND queue_at <= ? AND (queue_at, rowid) < (?, ?)"
    row = conn.execute(
        "SELECT (SELECT waiting FROM line_counts WHERE day = ? AND service = ? AND ordinary = ?), "
        "(SELECT COUNT(*) FROM tickets WHERE day = ? AND service = ? AND state = 'waiting' "
        f"AND (priority IS NULL) = ? {before}), "
        f"(SELECT COUNT(*) FROM tickets WHERE day = ? AND service = ? AND state = 'virtual' {before})",
        [day, service, False, day, service, True, queue_at, queue_at, rowid,
         day, service, queue_at, queue_at, rowid]).fetchone()
    return sum(value or 0 for value in row)


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
