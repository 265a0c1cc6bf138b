"""The queue's SQLite file: connection settings, the write transaction, and the schema as named migrations.

Durability: a printed ticket must survive a power cut, or its number could be issued twice. WAL with SQLite's
``synchronous=FULL`` does that with one fsync per commit, which halves the engine's throughput. The engine's default,
``GROUP``, gives the same guarantee with fewer fsyncs: SQLite commits with ``synchronous=NORMAL`` (the commit is in
the WAL file, not yet on the disk) and :class:`WalSync` fsyncs the WAL before the write is acknowledged; one fsync
covers every commit made before it started, so kiosks issuing at the same time share it (group commit). Nothing
is acknowledged before it is on the disk. ``NORMAL`` alone survives an application crash or ``kill -9`` but may
lose the last commits in a power cut (never corrupting the file); it is kept for comparison in bench/.

Concurrency: every write is one ``BEGIN IMMEDIATE`` transaction, which takes the write lock up front, so kiosks and
processes sharing the file serialise on issue instead of failing half-way with "database is locked". Waiting for
the lock is a short retry loop (sub-millisecond back-off up to ``BUSY_TIMEOUT_S``) rather than SQLite's built-in busy
handler, whose first sleep is a whole millisecond and halves throughput when four processes share the file.

Tables (``tickets`` keeps the original issue time in ``queue_at`` across transfers; ``day_sequences`` is the next
number per service and local day; ``number_blocks`` are ranges leased to kiosks for offline use;
``line_counts`` is how many wait in each line, kept by triggers).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import sqlite_utils

from contracts.migrations import Migrations
from contracts.storage import check_and_repair
from queueing.errors import QueueBusy

BUSY_TIMEOUT_S = 5.0
schema = Migrations()


@schema("0001_tickets")
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


@schema("0002_estimate_indexes")
def _estimate_indexes(db: sqlite_utils.Database) -> None:
    # the wait estimate runs on every issue: recent finished tickets per service, counters active today
    db.execute("CREATE INDEX tickets_finished ON tickets (service, state, finished_at)")
    db.execute("CREATE INDEX tickets_day_counter ON tickets (day, service, counter)")


@schema("0003_day_sequences_and_number_blocks")
def _sequences_and_blocks(db: sqlite_utils.Database) -> None:
    # An explicit next number per (day, service) instead of MAX(seq): constant time, and a leased block can move
    # it past numbers that exist only on a kiosk so far. ``allocated`` counts numbers handed out (the daily cap).
    db.execute("""
        CREATE TABLE day_sequences (
            day TEXT NOT NULL,
            service TEXT NOT NULL,
            next_seq INTEGER NOT NULL,
            allocated INTEGER NOT NULL,
            PRIMARY KEY (day, service)
        )""")
    db.execute("""
        INSERT INTO day_sequences (day, service, next_seq, allocated)
        SELECT day, service, MAX(seq) + 1, COUNT(*) FROM tickets WHERE seq IS NOT NULL GROUP BY day, service""")
    db.execute("""
        CREATE TABLE number_blocks (
            id TEXT PRIMARY KEY,
            day TEXT NOT NULL,
            service TEXT NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            holder TEXT NOT NULL,
            leased_at TEXT NOT NULL
        )""")
    # The waiting line: a partial covering index, so "how many are ahead of me" and "who is next" count index
    # entries only (rowid, the tie-break, is part of every index entry).
    db.execute("DROP INDEX tickets_waiting")
    db.execute("CREATE INDEX tickets_line ON tickets (day, service, priority IS NULL, queue_at) "
               "WHERE state = 'waiting'")


@schema("0004_line_counts")
def _line_counts(db: sqlite_utils.Database) -> None:
    # How many wait in each line (day, service, priority or not), kept by triggers on every change of a ticket, so
    # whatever code path (or process) moves a ticket, the count stays exact: "how many are ahead" for a new ticket
    # and the board's line lengths read one row instead of counting the line (SQLite's b-trees keep no counts: a
    # COUNT over an index range steps through every entry in it).
    db.execute("""
        CREATE TABLE line_counts (
            day TEXT NOT NULL,
            service TEXT NOT NULL,
            ordinary INTEGER NOT NULL,
            waiting INTEGER NOT NULL,
            PRIMARY KEY (day, service, ordinary)
        ) WITHOUT ROWID""")
    recount_lines(db)
    join = ("INSERT INTO line_counts (day, service, ordinary, waiting) "
            "VALUES (NEW.day, NEW.service, NEW.priority IS NULL, 1) "
            "ON CONFLICT (day, service, ordinary) DO UPDATE SET waiting = waiting + 1")
    leave = ("UPDATE line_counts SET waiting = waiting - 1 "
             "WHERE day = OLD.day AND service = OLD.service AND ordinary = (OLD.priority IS NULL)")
    moved = "AFTER UPDATE OF state, day, service, priority ON tickets"
    for name, event, statement in (("line_join", "AFTER INSERT ON tickets WHEN NEW.state = 'waiting'", join),
                                   ("line_leave", "AFTER DELETE ON tickets WHEN OLD.state = 'waiting'", leave),
                                   ("line_move_out", f"{moved} WHEN OLD.state = 'waiting'", leave),
                                   ("line_move_in", f"{moved} WHEN NEW.state = 'waiting'", join)):
        db.execute(f"CREATE TRIGGER {name} {event} BEGIN {statement}; END")


def recount_lines(db: sqlite_utils.Database) -> None:
    """Count the lines from the tickets themselves: when the table is created, and after a repair that may have lost
    tickets (or kept counts that no longer match the tickets it could read)."""
    db.execute("DELETE FROM line_counts")
    db.execute("""
        INSERT INTO line_counts (day, service, ordinary, waiting)
        SELECT day, service, priority IS NULL, COUNT(*) FROM tickets WHERE state = 'waiting'
        GROUP BY day, service, priority IS NULL""")


Synchronous = Literal["NORMAL", "FULL", "GROUP"]


def connect(path: Path | str, synchronous: Synchronous = "GROUP") -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the queue database. With ``GROUP`` the caller makes commits durable
    through a :class:`WalSync`."""
    if synchronous not in ("NORMAL", "FULL", "GROUP"):
        raise ValueError(f"synchronous must be NORMAL, FULL or GROUP, got {synchronous!r}")
    repaired = check_and_repair(path).repaired
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {'NORMAL' if synchronous == 'GROUP' else synchronous}")
    db = sqlite_utils.Database(conn)
    schema.apply(db)
    if repaired:
        with immediate(conn):
            recount_lines(db)
    return db


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction holding the write lock from the start; rolls back on any error.

    :raises QueueBusy: the lock stayed taken for ``BUSY_TIMEOUT_S`` (a stuck process holds the file).
    """
    _begin_immediate(conn)
    try:
        yield conn
        conn.execute("COMMIT")  # a COMMIT the disk refuses may leave the transaction open: roll it back too
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _begin_immediate(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA busy_timeout = 0")  # fail fast here and back off below; reads keep the normal timeout
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        pause = 0.0001
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise QueueBusy(f"the queue database stayed locked for {BUSY_TIMEOUT_S:.0f} s") from exc
            # jitter so waiting processes do not retry in lock-step
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.002)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")


class WalSync:
    """Group commit: count a connection's commits and fsync its WAL file so that each is on the disk before it is
    acknowledged, with one fsync for all commits made while the previous one ran.

    A writer calls :meth:`committed` right after each COMMIT (under its own lock, so the count follows the order
    of commits) and :meth:`wait` with that number outside the lock before it answers. The first waiter whose commit
    is not on the disk yet fsyncs the WAL for every commit counted so far; the others wait for it and are done if
    it covered them. fsync flushes the file (the inode), whatever descriptor it is called on, so SQLite's frames
    written through its own descriptor are on the disk after it; the directory is synced once, for the WAL file's
    own entry.
    """

    def __init__(self, path: Path | str) -> None:
        self._wal = Path(f"{path}-wal")
        self._fd: int | None = None
        self._cond = threading.Condition()
        self._commits = 0   # commits counted
        self._durable = 0   # commits known to be on the disk
        self._syncing = False

    @property
    def commits(self) -> int:
        return self._commits

    def committed(self) -> int:
        with self._cond:
            self._commits += 1
            return self._commits

    def wait(self, commit: int) -> None:
        """Return once commit number ``commit`` is on the disk. :raises OSError: the fsync failed."""
        with self._cond:
            while self._durable < commit:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing, target = True, self._commits
                try:
                    self._cond.release()
                    try:
                        self._fsync()
                    finally:
                        self._cond.acquire()
                    self._durable = max(self._durable, target)
                finally:
                    self._syncing = False
                    self._cond.notify_all()

    def _fsync(self) -> None:
        if self._fd is None:
            self._fd = os.open(self._wal, os.O_RDONLY)
            folder = os.open(self._wal.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
