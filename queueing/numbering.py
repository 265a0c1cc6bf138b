"""Ticket numbers: one dense sequence per service per local day, and blocks of it leased for offline kiosks.

``day_sequences`` holds the next number and how many numbers were handed out for each (day, service); the day is
the local date in Asia/Ho_Chi_Minh, so numbering restarts at the service's ``first_number`` at local midnight.
Every function here runs inside the caller's write transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: under
the service's ``numbers:<code>`` lock), which is what makes numbers unique across processes.

A leased block takes ``size`` consecutive numbers out of the sequence at once (counting towards the daily cap), so
numbers a kiosk hands out offline can never collide with numbers issued online or by another kiosk. Numbers of a
block the kiosk never used stay unused: the day's numbering then has a gap, never a duplicate. A block is only
valid on its own day.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from config.services import ServiceDef
from contracts.sqldb import Connection
from queueing.errors import DailyCapReached, UnknownBlock
from queueing.models import NumberBlock


def take(conn: Connection, service: ServiceDef, day: str, count: int = 1, *, partial: bool = False,
         also: tuple[str, list[Any]] | None = None) -> tuple[int, int, tuple[Any, ...] | None]:
    """Take ``count`` consecutive numbers; returns (first, how many, the values of ``also``). With ``partial`` the
    last numbers under the daily cap are granted even if fewer than asked.

    One statement when the day's row exists (every number but the first of the day): the row moves on and says
    where it was (a round trip less than reading it first, on PostgreSQL), and the SQL expressions ``also`` (with
    their parameters; ``estimate.at_the_back``) are read in the same round trip, before anything else changes;
    their values are None when the day's first number took another way. A refusal leaves the row moved: the
    caller's transaction rolls back on it, as on any error.

    :raises DailyCapReached: no number left under the cap (or fewer than ``count`` without ``partial``).
    """
    expressions, parameters = also or ("", [])
    moved = conn.execute("UPDATE day_sequences SET next_seq = next_seq + ?, allocated = allocated + ? "
                         f"WHERE day = ? AND service = ? RETURNING next_seq, allocated{expressions}",
                         [count, count, day, service.code, *parameters]).fetchall()  # all: SQLite ends it then
    extra = None
    if moved:
        next_seq, allocated, extra = moved[0][0] - count, moved[0][1] - count, tuple(moved[0][2:]) or None
    else:  # the day's first number, or a repaired file lost the row: go on after any number on file
        highest = conn.execute(
            "SELECT MAX(n) FROM (SELECT MAX(seq) AS n FROM tickets WHERE day = ? AND service = ? "
            "UNION ALL SELECT MAX(last_seq) FROM number_blocks WHERE day = ? AND service = ?) AS highest",
            [day, service.code, day, service.code]).fetchone()[0]
        next_seq, allocated = (service.first_number, 0) if highest is None else \
            (highest + 1, highest + 1 - service.first_number)
    granted = count
    if service.daily_cap is not None:
        left = service.daily_cap - allocated
        if left <= 0 or (left < count and not partial):
            raise DailyCapReached(f"service {service.code} handed out its {service.daily_cap} numbers for {day}")
        granted = min(count, left)
    if not moved or granted != count:
        conn.execute(
            "INSERT INTO day_sequences (day, service, next_seq, allocated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (day, service) DO UPDATE SET next_seq = excluded.next_seq, allocated = excluded.allocated",
            [day, service.code, next_seq + granted, allocated + granted])
    return next_seq, granted, extra


def lease(conn: Connection, service: ServiceDef, day: date, size: int, holder: str,
          now: datetime) -> NumberBlock:
    """Reserve up to ``size`` numbers of ``day`` for ``holder``; fewer when the daily cap leaves fewer."""
    if size < 1:
        raise ValueError(f"a block needs at least one number, got {size}")
    first, granted, _ = take(conn, service, day.isoformat(), size, partial=True)
    block = NumberBlock(id=secrets.token_urlsafe(9), service=service.code, day=day, first_seq=first,
                        last_seq=first + granted - 1, holder=holder, prefix=service.prefix, digits=service.digits)
    conn.execute("INSERT INTO number_blocks (id, day, service, first_seq, last_seq, holder, leased_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)",
                 [block.id, day.isoformat(), service.code, block.first_seq, block.last_seq, holder, now.isoformat()])
    return block


def load_block(conn: Connection, block_id: str, service: ServiceDef) -> tuple[NumberBlock, datetime]:
    """The block as leased and when; ``service`` supplies the number format (the row stores only its code).

    :raises UnknownBlock: never leased by this queue, or leased for another service.
    """
    row = conn.execute("SELECT service, day, first_seq, last_seq, holder, leased_at FROM number_blocks WHERE id = ?",
                       [block_id]).fetchone()
    if row is None or row[0] != service.code:
        raise UnknownBlock(f"no number block {block_id!r} for service {service.code}")
    return NumberBlock(id=block_id, service=row[0], day=date.fromisoformat(row[1]), first_seq=row[2],
                       last_seq=row[3], holder=row[4], prefix=service.prefix, digits=service.digits), \
        datetime.fromisoformat(row[5])
