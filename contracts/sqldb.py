"""The servers' stores on SQLite or PostgreSQL from the same SQL: one :class:`Database` per store.

A ward box keeps its data in SQLite files; a city runs several server processes on one PostgreSQL database. The
backend's stores and the queue engine are written once, in the SQL both engines understand, with ``?`` for each
parameter, and run on either through this module:

* :func:`open_database` takes a SQLite path or a ``postgresql://`` URL; anything else, or a PostgreSQL that cannot
  be reached, is one :class:`DatabaseTargetError` line (naming the host and database, never the password) — never
  a stray file.
* :meth:`Database.connection` lends a connection for reads and writes outside a transaction; nested uses on one
  thread get the same one. SQLite: the store's one connection, under the store's lock (the threads of a server
  take turns; SQLite has one writer anyway). PostgreSQL: a pooled connection per thread, so a server's threads and
  processes work in parallel and PostgreSQL does the locking.
* :meth:`Database.transaction` is one write transaction that runs alone under a named lock, as SQLite's ``BEGIN
  IMMEDIATE`` does for the whole file: on PostgreSQL a transaction-scoped advisory lock on ``lock``, so writes that
  must not interleave (the numbers of one service, the dossier sequence) serialise across every process and host,
  and others (another service's numbers) do not wait. It rolls back on any error.
* :meth:`Database.reading` is a connection for reads that must not wait for a writer: SQLite opens a second,
  read-only connection (WAL readers never block the writer); PostgreSQL lends a pooled one.

Why SQLAlchemy only underneath: its engine gives the PostgreSQL connection pool (renewed whole when PostgreSQL
drops a connection: a restart, a fail-over) and URL parsing, and ``copy-data`` reflects tables with it;
but its execution layer costs 50–80 µs a statement where SQLite's own costs 16 µs (measured on this machine), which
would halve the queue's tickets per second. So statements go to the DBAPI connection (sqlite3, psycopg 3) directly;
for psycopg the ``?`` marks become ``%s`` once per distinct statement (psycopg then prepares repeated statements on
the server by itself). Neither driver is imported until a store needs it: the kiosk's own SQLite stores never load
SQLAlchemy or psycopg.

SQL that must differ per engine is chosen on :attr:`Database.dialect` (DDL, triggers); the rest keeps to the common
subset: ``INSERT … ON CONFLICT … DO UPDATE`` rather than ``INSERT OR REPLACE``, ``IS NOT DISTINCT FROM`` rather than
``IS ?``, aliased sub-queries, integers (not Python booleans) for INTEGER columns, and on PostgreSQL an explicit
``rowid`` identity column on the tables whose insertion order is read back.
"""

from __future__ import annotations

import hashlib
import random
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgresql"]
BUSY_TIMEOUT_S = 5.0
POOL_SIZE = 8
CONNECT_TIMEOUT_S = 5
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class DatabaseTargetError(ValueError):
    """The database named cannot be used; the message is the one line to print (it never holds a password)."""


class StoreUnavailable(RuntimeError):
    """The database stopped answering (PostgreSQL down, network cut): the request may be retried later (503)."""


class StoreBusy(RuntimeError):
    """A write waited ``BUSY_TIMEOUT_S`` for its lock (another process holds a SQLite file)."""


class Cursor(Protocol):
    rowcount: int
    description: Any

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What stores call on a lent connection: ``sqlite3.Connection`` and :class:`_PgConnection` both have it."""

    dialect: Dialect

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, rows: Any, /) -> Any: ...


class SqliteConnection(sqlite3.Connection):
    """sqlite3's own connection, telling its dialect (no wrapper: SQLite statements cost 16 µs, keep them so)."""

    dialect: Dialect = "sqlite"


def is_url(target: str | Path) -> bool:
    return isinstance(target, str) and _URL.match(target) is not None


def open_database(target: str | Path, *, synchronous: str = "NORMAL", pool_size: int = POOL_SIZE,
                  create_dir: bool = False) -> Database:
    """The store at ``target``: a SQLite file (created when missing) or a ``postgresql://`` URL.

    :param synchronous: SQLite's ``synchronous`` pragma (``NORMAL``/``FULL``); PostgreSQL commits are durable.
    :param create_dir: create a missing parent directory (only for a default location the program owns).
    :raises DatabaseTargetError: another URL scheme, a directory, a missing or read-only directory, or a
        PostgreSQL that refuses the connection.
    """
    if is_url(target):
        scheme = _URL.match(str(target)).group(1).lower()  # type: ignore[union-attr]
        if scheme not in _POSTGRES_SCHEMES:
            raise DatabaseTargetError(f"{scheme}://…: not a database this server can use; give the path of a "
                                      "SQLite file or a postgresql:// URL")
        return PostgresDatabase(str(target), pool_size)
    path = Path(target)
    if str(path) != ":memory:":
        _check_sqlite_path(path, create_dir)
    return SqliteDatabase(path, synchronous)


def _check_sqlite_path(path: Path, create_dir: bool) -> None:
    import os

    if path.is_dir():
        raise DatabaseTargetError(f"{path}: is a directory; give the path of a SQLite file inside it")
    if create_dir:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not path.parent.is_dir():
        raise DatabaseTargetError(f"{path}: the directory {path.parent} does not exist; create it first")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise DatabaseTargetError(f"{path}: the directory {path.parent} is not writable by this user")


def lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name`` (the same in every process and on every host)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class Database(ABC):
    """A store's database; see the module's docstring for what each way of borrowing a connection gives."""

    dialect: Dialect
    integrity_errors: tuple[type[BaseException], ...]
    # a value the engine cannot hold (PostgreSQL: a NUL in a text, a number out of range): the caller's input, a 4xx
    data_errors: tuple[type[Exception], ...]

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        held = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        with self._lend() as conn:
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None

    @contextmanager
    def transaction(self, lock: str = "store") -> Iterator[Connection]:
        with self.connection() as conn, self._transaction(conn, lock):
            yield conn

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        with self.reading() as conn:
            return [tuple(row) for row in conn.execute(sql, parameters).fetchall()]

    def migrate(self, migrations: Any) -> list[str]:
        """Apply ``migrations`` (a ``contracts.migrations.Migrations``); returns the names applied now."""
        return migrations.apply_to(self)

    # -- per engine -------------------------------------------------------------------------------------------
    @abstractmethod
    def _lend(self) -> Any:
        """A context manager lending one connection of the engine."""

    @abstractmethod
    def _transaction(self, conn: Connection, lock: str) -> Any:
        """A context manager running a write transaction on ``conn`` alone under ``lock``."""

    @abstractmethod
    def reading(self) -> Any:
        """A context manager lending a connection for reads that must not wait for a writer."""

    @abstractmethod
    def describe(self) -> str:
        """Where the data lives, for logs and start-up lines (no password)."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection the store holds."""


class SqliteDatabase(Database):
    dialect: Dialect = "sqlite"
    integrity_errors = (sqlite3.IntegrityError,)
    data_errors = (sqlite3.DataError,)

    def __init__(self, path: Path, synchronous: str = "NORMAL") -> None:
        super().__init__()
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        self.path = path
        self._lock = threading.RLock()
        self._conn = _sqlite_connect(str(path))
        if str(path) != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute(f"PRAGMA synchronous = {synchronous}")
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()

    @contextmanager
    def _lend(self) -> Iterator[Connection]:
        with self._lock:
            yield self._conn

    @contextmanager
    def _transaction(self, conn: Connection, lock: str) -> Iterator[None]:
        begin_immediate(conn)  # type: ignore[arg-type]
        try:
            yield
            conn.execute("COMMIT")  # a COMMIT the disk refuses may leave the transaction open: roll it back too
        except BaseException:
            if conn.in_transaction:  # type: ignore[attr-defined]
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        if str(self.path) == ":memory:":  # one connection sees an in-memory database
            with self.connection() as conn:
                yield conn
            return
        with self._reader_lock:
            if self._reader is None:
                self._reader = _sqlite_connect(f"file:{self.path}?mode=ro", uri=True)
            yield self._reader  # type: ignore[misc]

    def backup(self, dest: Path) -> None:
        """A consistent copy of the live file at ``dest`` (SQLite's online backup: writers carry on)."""
        target = sqlite3.connect(str(dest))
        try:
            with self._lock:
                self._conn.backup(target)
        finally:
            target.close()

    def describe(self) -> str:
        return str(self.path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()


def _sqlite_connect(target: str, uri: bool = False) -> SqliteConnection:
    return sqlite3.connect(target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False,
                           factory=SqliteConnection, uri=uri)


def begin_immediate(conn: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE`` with a short retry loop instead of SQLite's busy handler, whose first sleep is a whole
    millisecond and halves throughput when four processes share a file.

    :raises StoreBusy: the write lock stayed taken for ``BUSY_TIMEOUT_S``.
    """
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
                    raise StoreBusy(f"the database stayed locked for {BUSY_TIMEOUT_S:.0f} s") from exc
            # jitter so waiting processes do not retry in lock-step
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.002)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")


@lru_cache(maxsize=2048)
def to_format_style(sql: str) -> str:
    """``?`` → ``%s`` and ``%`` → ``%%`` outside quoted strings and identifiers (psycopg's placeholder style)."""
    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if token.startswith("?"):
            raise ValueError(f"numbered parameters ({token}) are not portable; repeat the value instead")
        return token.replace("%", "%%")

    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?\d+|\?|%", swap, sql)


class _PgConnection:
    """A pooled psycopg connection that takes the ``?`` style."""

    dialect: Dialect = "postgresql"

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.raw.execute(to_format_style(sql), parameters)

    def executemany(self, sql: str, rows: Any) -> Any:
        with self.raw.cursor() as cursor:
            cursor.executemany(to_format_style(sql), list(rows))
            return cursor


class PostgresDatabase(Database):
    dialect: Dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        super().__init__()
        import psycopg
        import sqlalchemy
        from sqlalchemy.engine import make_url

        try:
            parsed = make_url(url)
        except sqlalchemy.exc.ArgumentError:
            raise DatabaseTargetError("postgresql://…: not a valid URL (postgresql://USER@HOST/DATABASE, or "
                                      "postgresql:///DATABASE?host=/run/postgresql for a socket)") from None
        parsed = parsed.set(drivername="postgresql+psycopg")
        self._where = f"PostgreSQL database {parsed.database or '(default)'} on " \
                      f"{parsed.host or parsed.query.get('host') or 'the local socket'}"
        self.integrity_errors = (psycopg.IntegrityError,)
        self.data_errors = (psycopg.DataError,)
        self._operational = (psycopg.OperationalError, sqlalchemy.exc.OperationalError)
        self._pool_timeout = sqlalchemy.exc.TimeoutError
        # No ping before each loan (a round trip per borrow: a ticket borrows several times): a connection that
        # PostgreSQL dropped fails its request with StoreUnavailable (503, the client retries) and the whole pool is
        # renewed then, since after a restart or fail-over every idle connection is as stale.
        self._engine = sqlalchemy.create_engine(
            parsed, pool_size=pool_size, max_overflow=pool_size, pool_timeout=BUSY_TIMEOUT_S,
            isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
        try:
            with self._lend():
                pass
        except StoreUnavailable as exc:
            self._engine.dispose()
            raise DatabaseTargetError(f"{self._where}: cannot connect ({exc})") from None

    @contextmanager
    def _lend(self) -> Iterator[Connection]:
        proxy = self._borrow()
        try:
            yield _PgConnection(proxy.driver_connection)
        except self._operational as exc:
            if proxy.driver_connection.broken or proxy.driver_connection.closed:
                proxy.invalidate()
                self._engine.dispose()  # the idle ones are as stale; connections on loan are dropped when returned
            raise StoreUnavailable(_first_line(exc)) from None
        finally:
            proxy.close()

    def _borrow(self) -> Any:
        try:
            return self._engine.raw_connection()
        except self._operational as exc:
            raise StoreUnavailable(_first_line(exc)) from None
        except self._pool_timeout:
            raise StoreBusy(f"every connection to {self._where} stayed in use for {BUSY_TIMEOUT_S:.0f} s") from None

    @contextmanager
    def _transaction(self, conn: Connection, lock: str) -> Iterator[None]:
        raw = conn.raw  # type: ignore[attr-defined]
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(lock)])
            yield

    def reading(self) -> Any:
        return self.connection()

    def dedicated(self) -> Any:
        """A psycopg connection of its own, outside the pool and in autocommit mode, for a caller that holds it for
        long (``LISTEN``); the caller closes it. :raises StoreUnavailable:"""
        proxy = self._borrow()
        conn = proxy.driver_connection
        proxy.detach()  # the pool forgets it: closing it really closes it
        return conn

    def describe(self) -> str:
        return self._where

    def close(self) -> None:
        self._engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

