"""The queue's SQLite file: WAL, a busy timeout, and named migrations applied once each, atomically.

WAL with ``synchronous=NORMAL`` keeps every committed ticket across an application crash or kill -9 (the WAL is
written before COMMIT returns); a power cut can lose at most the last transactions that had not reached the disk,
never corrupt the file. ``BEGIN IMMEDIATE`` takes the write lock up front, so concurrent kiosks or processes
serialise on issue instead of failing with "database is locked" half-way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 10_000
Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(name: str) -> Callable[[Migration], Migration]:
    def register(fn: Migration) -> Migration:
        MIGRATIONS.append((name, fn))
        return fn

    return register


@migration("0001_tickets")
def _tickets(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE tickets (
            id TEXT PRIMARY KEY,
            request_id TEXT UNIQUE,
            day TEXT NOT NULL,
            service TEXT NOT NULL,
            seq INTEGER,
            number TEXT NOT NULL,
            priority TEXT,
            kiosk_id TEXT,
            booking_code TEXT,
            state TEXT NOT NULL DEFAULT 'waiting',
            counter INTEGER,
            issued_at TEXT NOT NULL,
            queue_at TEXT NOT NULL,
            called_at TEXT,
            serving_at TEXT,
            finished_at TEXT,
            recalls INTEGER NOT NULL DEFAULT 0,
            transferred_from TEXT,
            UNIQUE (day, service, seq)
        )""")
    db.execute("CREATE INDEX tickets_waiting ON tickets (day, service, state, queue_at)")
    db.execute("CREATE INDEX tickets_counter ON tickets (counter, state)")
    db.execute("CREATE TABLE counter_state (counter INTEGER PRIMARY KEY, priority_streak INTEGER NOT NULL)")


@migration("0002_estimate_indexes")
def _estimate_indexes(db: sqlite_utils.Database) -> None:
    # the wait estimate runs on every issue: recent finished tickets per service, counters active today
    db.execute("CREATE INDEX tickets_finished ON tickets (service, state, finished_at)")
    db.execute("CREATE INDEX tickets_day_counter ON tickets (day, service, counter)")


def connect(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the queue database."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    db = sqlite_utils.Database(conn)
    _migrate(db)
    return db


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """One write transaction holding the write lock from the start; rolls back on any error."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _migrate(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT DEFAULT CURRENT_TIMESTAMP)")
    for name, fn in MIGRATIONS:
        with immediate(db):
            done = db.execute("SELECT 1 FROM _migrations WHERE name = ?", [name]).fetchone()
            if not done:
                fn(db)
                db.execute("INSERT INTO _migrations (name) VALUES (?)", [name])
