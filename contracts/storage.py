"""Self-healing SQLite files: a check at start that moves a corrupted database aside and rebuilds it from what can
still be read, and one answer for a full disk.

Every database the kiosk keeps (queue, outbox, survey, status cache, the embedded backend) is checked by its opener
with :func:`check_and_repair` before it connects. When ``PRAGMA quick_check`` finds damage, or SQLite refuses the
file ("file is not a database", "database disk image is malformed"):

1. the file and its ``-wal``/``-shm``/``-journal`` are moved to ``corrupt/<name>.<UTC time>`` beside it (kept for
   a technician; the copies hold personal data, so each check also deletes those older than ``keep_days``, and the
   kiosk's daily retention task calls :func:`purge_corrupt` with the configured days);
2. a fresh file is built from the moved copy: each table as its schema defines it, row by row in rowid order,
   skipping the stretches that cannot be read, then its indexes. A torn header (the first 100 bytes) is rewritten
   on a scratch copy first, so the pages behind it can be read;
3. one line without personal data goes to ``report``.

What is lost is what sat on the unreadable pages: a torn leaf page costs its rows, a torn index page costs nothing,
a torn interior page or schema page costs the tables below it. (The ``sqlite3`` shell's ``.recover`` would find
orphaned pages too, but Debian's build lacks the ``sqlite_dbpage`` table it needs.)

A write the storage refuses never corrupts a database: SQLite rolls the transaction back. :func:`storage_full`
recognises such a failure — SQLite's "database or disk is full", the "disk I/O error" that a file-size limit
(EFBIG) or a failing medium gives, ``OSError`` ENOSPC/EFBIG/EDQUOT — reports it and turns it into
:class:`StorageFull`, so the kiosk refuses the citizen's request before it promises anything.

The data of every process is private to its user: :func:`private_files` (called once at process start) makes
every file and folder created afterwards 0600/0700, and :func:`private_dir` creates a data folder 0700 and closes
one left open by an older version.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)
Report = Callable[[str], None]
CORRUPT_DIR = "corrupt"
SIDE_FILES = ("-wal", "-shm", "-journal")
MAGIC = b"SQLite format 3\x00"
PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)  # SQLite's default first
MIN_ROWID, MAX_ROWID = -(2**63), 2**63 - 1
MAX_SKIPS = 1000  # unreadable stretches skipped in one table before the rest of it is given up
CHECK_TIMEOUT_S = 10.0
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
FULL_SQLITE = frozenset({"SQLITE_FULL", "SQLITE_IOERR_WRITE"})
KEEP_CORRUPT_DAYS = 30.0  # default age after which a copy in corrupt/ is deleted (config: retention.corrupt_days)
PRIVATE_UMASK = 0o077  # files 0600, folders 0700
DAY_S = 86_400


class StorageFull(OSError):
    """The storage refused a write (full disk, file-size limit, failing medium); nothing of it was committed."""


@dataclass(frozen=True)
class RepairResult:
    path: Path
    problem: str | None = None  # why the file was judged corrupted; None: healthy, or no file yet
    moved_to: Path | None = None
    rows: dict[str, int] = field(default_factory=dict)  # rows recovered per table
    damaged: tuple[str, ...] = ()  # tables with unreadable pages: some of their rows are lost
    error: str | None = None  # the rebuild itself failed: the database starts empty

    @property
    def repaired(self) -> bool:
        return self.problem is not None

    def summary(self) -> str:
        """The one-line event: file names, counts and SQLite's own words only (never row contents)."""
        moved = f"{self.moved_to.parent.name}/{self.moved_to.name}" if self.moved_to else "?"
        head = f"storage: {self.path.name} was corrupted ({self.problem}); moved to {moved}"
        if self.error:
            return f"{head}; rebuild failed ({self.error}): starting empty"
        if not self.rows:
            return f"{head}; nothing could be read: starting empty"
        lost = f"; unreadable pages in {', '.join(self.damaged)}" if self.damaged else "; nothing lost"
        return f"{head}; rebuilt with {sum(self.rows.values())} rows in {len(self.rows)} tables{lost}"


def private_files() -> None:
    """From now on, this process creates files 0600 and folders 0700 (SQLite files, logs, spool jobs, keys)."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """``path`` created as a folder only its owner can enter (0700), or closed to others if it already exists
    open to them (a data folder made by an older version). Only for folders that belong to the program."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def purge_corrupt(folder: Path, keep_days: float = KEEP_CORRUPT_DAYS, *, now: float | None = None) -> int:
    """Delete the copies in every ``corrupt/`` under ``folder`` moved there more than ``keep_days`` ago; returns
    how many files went. A copy's time is its move (see :func:`_move_aside`)."""
    cutoff = (time.time() if now is None else now) - keep_days * DAY_S
    removed = sum(delete_older_than(corrupt, cutoff) for corrupt in folder.glob(f"**/{CORRUPT_DIR}"))
    if removed:
        log.info("storage: %d copies older than %g days deleted from %s/", removed, keep_days, CORRUPT_DIR)
    return removed


def delete_older_than(folder: Path, cutoff: float) -> int:
    """Delete the files directly in ``folder`` last modified before ``cutoff`` (epoch seconds); returns how many."""
    removed = 0
    for copy in folder.iterdir() if folder.is_dir() else ():
        if copy.is_file() and copy.stat().st_mtime < cutoff:
            copy.unlink(missing_ok=True)
            removed += 1
    return removed


def check_and_repair(path: Path | str, *, report: Report = log.warning,
                     keep_days: float = KEEP_CORRUPT_DAYS) -> RepairResult:
    """Check ``path`` before it is opened; when it is corrupted, move it aside, rebuild it and report the event.
    Copies in the ``corrupt/`` beside it older than ``keep_days`` are deleted (servers have no daily task).

    A missing file (or ``:memory:``) is left alone. Errors that are not damage (a locked file, no permission) are
    raised as they are: opening the database would fail the same way.
    """
    path = Path(path)
    delete_older_than(path.parent / CORRUPT_DIR, time.time() - keep_days * DAY_S)
    if not path.is_file():
        return RepairResult(path)
    problem = _problem(path)
    if problem is None:
        return RepairResult(path)
    moved = _move_aside(path)
    try:
        rows, damaged = _rebuild(moved, path)
    except (sqlite3.Error, OSError) as exc:
        result = RepairResult(path, problem, moved, error=_short(exc))
    else:
        result = RepairResult(path, problem, moved, rows, damaged)
    report(result.summary())
    return result


def storage_full(exc: BaseException, what: str) -> StorageFull | None:
    """``exc`` as :class:`StorageFull` when it is the storage refusing a write (reported here, once), else None."""
    if isinstance(exc, StorageFull):
        return exc
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        detail = errno.errorcode[exc.errno]
    elif isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorname", None) in FULL_SQLITE:
        detail = exc.sqlite_errorname
    else:
        return None
    log.warning("storage full: %s write refused (%s); nothing was committed, free space in the data dir",
                what, detail)
    return StorageFull(errno.ENOSPC, f"{what}: the storage refused the write ({detail})")


# -- detecting ----------------------------------------------------------------------------------------------------
def _problem(path: Path) -> str | None:
    """Why the file cannot be trusted, or None when ``quick_check`` passes. The file is opened as its opener would
    open it, so SQLite's own recovery runs first: a hot journal is rolled back, a WAL is checkpointed on close."""
    try:
        with closing(sqlite3.connect(path, timeout=CHECK_TIMEOUT_S)) as conn:
            found = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        name = getattr(exc, "sqlite_errorname", None) or ""
        if not (name.startswith("SQLITE_CORRUPT") or name == "SQLITE_NOTADB"):
            raise
        return _short(exc)
    if found == [("ok",)]:
        return None
    lines = [line for row in found for line in str(row[0]).splitlines() if not line.startswith("***")]
    return lines[0][:120] if lines else "quick_check failed"


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


# -- moving aside -------------------------------------------------------------------------------------------------
def _move_aside(path: Path) -> Path:
    """Move the file and its side files to ``corrupt/``; the main file last, so a fresh file never meets an old
    WAL. Returns the new path of the main file (its side files keep their suffixes, so SQLite still finds them)."""
    folder = private_dir(path.parent / CORRUPT_DIR)
    stem = f"{path.name}.{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    target, attempt = folder / stem, 1
    while target.exists():
        target, attempt = folder / f"{stem}.{attempt}", attempt + 1
    for suffix in (*SIDE_FILES, ""):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, f"{target}{suffix}")
            os.utime(f"{target}{suffix}")  # the copy's age counts from its move (purge_corrupt)
    return target


# -- rebuilding ---------------------------------------------------------------------------------------------------
def _rebuild(source: Path, target: Path) -> tuple[dict[str, int], tuple[str, ...]]:
    """Build a fresh file from what ``source`` still yields and put it at ``target`` in one rename; when nothing can
    be read, leave ``target`` absent (its opener creates it empty). Side files that reading the moved copy created
    are removed again, so ``corrupt/`` holds what was found."""
    scratch = source.with_name(source.name + ".rebuild")
    header_copy = source.with_name(source.name + ".header")
    ours = [Path(f"{source}{suffix}") for suffix in SIDE_FILES if not Path(f"{source}{suffix}").exists()]
    src = None
    try:
        src = _open_schema(source) or _open_with_new_header(source, header_copy)
        if src is None:
            return {}, ()
        with closing(sqlite3.connect(scratch, isolation_level=None)) as dst:
            found = _salvage(src, dst)
        os.replace(scratch, target)
        return found
    finally:
        if src is not None:
            src.close()
        for leftover in (scratch, *ours, *(Path(f"{header_copy}{suffix}") for suffix in ("", *SIDE_FILES))):
            leftover.unlink(missing_ok=True)


def _open_schema(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to ``path`` if its schema lists anything, else None (read-only: the copy in
    ``corrupt/`` stays as it was found; its WAL is still read). ``writable_schema`` lets SQLite read a file shorter
    than its header says (truncated), which it otherwise refuses outright."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA writable_schema = ON")
        if conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
            return conn
    except sqlite3.DatabaseError:
        pass
    conn.close()
    return None


def _open_with_new_header(source: Path, copy: Path) -> sqlite3.Connection | None:
    """Rewrite the 100-byte header on a copy of ``source`` (with its WAL) for each usual page size until the schema
    reads; None when none does. The header only describes the file: its pages are still intact behind it."""
    size = source.stat().st_size
    shutil.copyfile(source, copy)
    wal = Path(f"{source}-wal")
    if wal.exists():
        shutil.copyfile(wal, f"{copy}-wal")
    for page_size in PAGE_SIZES:
        if size < page_size or size % page_size:
            continue
        with open(copy, "r+b") as file:
            file.write(_header(page_size, size // page_size, wal_mode=wal.exists()))
        conn = _open_schema(copy)
        if conn is not None:
            return conn
    return None


def _header(page_size: int, pages: int, *, wal_mode: bool) -> bytes:
    """A valid database header (https://sqlite.org/fileformat.html#the_database_header): UTF-8, schema format 4,
    no free list (free pages are simply not read), the page count valid for change counter 1."""
    version = 2 if wal_mode else 1
    return MAGIC + struct.pack(
        ">HBBBBBBIIIIIIIIIIII20xII",
        page_size if page_size < 65536 else 1, version, version, 0, 64, 32, 32,
        1, pages, 0, 0, 1, 4, 0, 0, 1, 0, 0, 0,  # change counter .. application id
        1, sqlite3.sqlite_version_info[0] * 1_000_000 + sqlite3.sqlite_version_info[1] * 1000
        + sqlite3.sqlite_version_info[2],
    )


def _salvage(src: sqlite3.Connection, dst: sqlite3.Connection) -> tuple[dict[str, int], tuple[str, ...]]:
    """Copy every table's readable rows (keeping rowids) and recreate indexes, triggers and views, in one
    transaction. SQLite's own tables (``sqlite_sequence``...) come with the tables that need them."""
    entries = _readable_rows(src, "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL "
                                  "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type <> 'table', rowid")
    rows: dict[str, int] = {}
    damaged = []
    dst.execute("BEGIN")
    for kind, name, sql in entries:
        try:
            dst.execute(sql)
        except sqlite3.DatabaseError:  # a definition SQLite no longer accepts, or a unique index the copy violates
            if kind == "table":
                damaged.append(name)  # its rows stay in the copy in corrupt/
            continue
        if kind == "table":
            rows[name], complete = _copy_table(src, dst, name)
            if not complete:
                damaged.append(name)
    _copy_sequences(src, dst)
    dst.execute("COMMIT")
    return rows, tuple(damaged)


def _readable_rows(conn: sqlite3.Connection, sql: str) -> list[tuple]:
    """The rows a query yields before it hits an unreadable page."""
    found: list[tuple] = []
    try:
        for row in conn.execute(sql):
            found.append(row)
    except sqlite3.DatabaseError:
        pass
    return found


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_table(src: sqlite3.Connection, dst: sqlite3.Connection, table: str) -> tuple[int, bool]:
    """Copy ``table`` in rowid order; returns (rows copied, whether every page could be read)."""
    names = [row[1] for row in src.execute(f"PRAGMA table_info({_quote(table)})")]
    columns = ", ".join(map(_quote, names))
    if not _has_rowid(src, table):
        return _copy_keyed_table(src, dst, table, columns, len(names))
    select = f"SELECT rowid, {columns} FROM {_quote(table)} WHERE rowid >= ? ORDER BY rowid"
    insert = f"INSERT OR IGNORE INTO {_quote(table)} (rowid, {columns}) VALUES ({', '.join('?' * (len(names) + 1))})"
    copied, complete, start = 0, True, MIN_ROWID
    for _ in range(MAX_SKIPS):
        for row in _rows_from(src, select, start):
            if row is None:
                break
            dst.execute(insert, row)  # outside the reader: a failing write (full disk) is raised, not skipped
            copied += 1
            start = row[0] + 1
        else:
            return copied, complete
        complete = False
        row = _first_readable(src, select, start)
        if row is None:
            return copied, complete
        dst.execute(insert, row)
        copied += 1
        start = row[0] + 1
    return copied, False


def _has_rowid(src: sqlite3.Connection, table: str) -> bool:
    try:
        src.execute(f"SELECT rowid FROM {_quote(table)} LIMIT 0")
    except sqlite3.OperationalError:  # WITHOUT ROWID
        return False
    return True


def _copy_keyed_table(src: sqlite3.Connection, dst: sqlite3.Connection, table: str, columns: str,
                      width: int) -> tuple[int, bool]:
    """A WITHOUT ROWID table (small, keyed: counters, sequences) has no rowid to resume after a bad page from:
    copy its rows up to the first unreadable one."""
    found, complete = [], True
    try:
        for row in src.execute(f"SELECT {columns} FROM {_quote(table)}"):
            found.append(row)
    except sqlite3.DatabaseError:
        complete = False
    dst.executemany(f"INSERT OR IGNORE INTO {_quote(table)} ({columns}) VALUES ({', '.join('?' * width)})", found)
    return len(found), complete


def _rows_from(src: sqlite3.Connection, select: str, start: int) -> Iterator[tuple | None]:
    """Rows from rowid ``start`` on; a final None marks an unreadable page. (The sqlite3 module steps to the next
    row before it hands out the current one, so the last row before a bad page arrives as an error too; the
    single-row reads of :func:`_first_readable` pick it up.)"""
    try:
        yield from src.execute(select, [start])
    except sqlite3.DatabaseError:
        yield None


def _first_readable(src: sqlite3.Connection, select: str, start: int) -> tuple | None:
    """The first row at or after rowid ``start`` that reads, or None at the end of the table: the jump doubles
    until a single-row read succeeds, then bisects back to where the unreadable stretch ends, so only the rows on
    the damaged pages are skipped (a few dozen seeks per stretch)."""
    def first_row(at: int) -> tuple[bool, tuple | None]:
        try:
            return True, src.execute(select + " LIMIT 1", [at]).fetchone()
        except sqlite3.DatabaseError:
            return False, None

    bad, good = start - 1, start
    while not (found := first_row(good))[0]:
        if good >= MAX_ROWID:
            return None
        bad, good = good, min(good + 2 * (good - bad), MAX_ROWID)
    row = found[1]
    while good - bad > 1:
        middle = (bad + good) // 2
        readable, at = first_row(middle)
        if readable:
            good, row = middle, at
        else:
            bad = middle
    return row


def _copy_sequences(src: sqlite3.Connection, dst: sqlite3.Connection) -> None:
    """Keep AUTOINCREMENT counters at least where they were, so no number handed out before is handed out again."""
    if not dst.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'").fetchone():
        return
    for name, seq in _readable_rows(src, "SELECT name, seq FROM sqlite_sequence"):
        if not dst.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", [seq, name]).rowcount:
            dst.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", [name, seq])
