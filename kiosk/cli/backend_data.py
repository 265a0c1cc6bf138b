"""``backend migrate``, ``backend copy-data`` and ``backend backup``: the backend's data outside of serving.

* ``migrate`` brings every table up to this version (``backend serve`` does it at start too) and prints what it
  applied, so an operator can run it before starting several processes, or to see that nothing was pending.
* ``copy-data --from backend.db --to postgresql://…`` moves a ward's SQLite site into a city's database: the target
  is migrated, then every table of ``backend.db`` and of the files beside it (content, fleet, survey) is copied in
  one transaction — all of it or nothing — in the order SQLite kept it (a dossier's timeline is read back in
  insertion order). A target that already holds dossiers is refused: merging two sites' codes is not a copy.
* ``backup --to DIR`` copies each SQLite file with SQLite's online backup, consistent while the server writes. A
  PostgreSQL database is backed up with PostgreSQL's own tools (``pg_dump``, or base backups with WAL archiving),
  which this command says instead of doing half of it.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import psycopg

from backend.layout import close_all, migrate_all, open_all, sqlite_files
from contracts.sqldb import Connection, DatabaseTargetError, SqliteDatabase, StoreUnavailable, is_url
from kiosk.cli import EXIT_CONFIG
from kiosk.cli.backend_serve import DATABASE_ENV, DEFAULT_DB
from kiosk.cli.serving import database_target

EXIT_REFUSED = 1
BATCH = 2000  # rows sent to the target per executemany
# identity columns whose sequence must continue after the copied ids (table, column)
IDENTITIES = (("survey_answers", "id"), ("sms_outbox", "id"))


def run_migrate(args: argparse.Namespace) -> int:
    target, default_location = database_target(args, DATABASE_ENV, DEFAULT_DB)
    try:
        databases = open_all(target, create_dir=default_location)
    except DatabaseTargetError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    try:
        applied = migrate_all(databases)
    except StoreUnavailable as exc:
        print(f"{databases['backend'].describe()}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        close_all(databases)
    for where, name in applied:
        print(f"applied {name} to {where}")
    if not applied:
        print(f"nothing to apply: {databases['backend'].describe()} is up to date")
    return 0


def run_copy_data(args: argparse.Namespace) -> int:
    source: Path = args.source
    if not is_url(args.target):
        print(f"--to {args.target}: give the postgresql:// URL of the new database", file=sys.stderr)
        return EXIT_CONFIG
    if not source.is_file():
        print(f"--from {source}: no such SQLite file (the site's backend.db)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        databases = open_all(args.target)
    except DatabaseTargetError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    target = databases["backend"]
    try:
        migrate_all(databases)
        with target.transaction(lock="copy-data") as conn:
            held = conn.execute("SELECT COUNT(*) FROM dossiers").fetchone()[0]
            if held:
                print(f"{target.describe()} already holds {held} dossiers: copy a site only into a new database",
                      file=sys.stderr)
                return EXIT_REFUSED
            counts = [count for path in sqlite_files(source).values() if path.is_file()
                      for count in _copy_file(path, conn)]
            for table, column in IDENTITIES:
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                             f"COALESCE((SELECT max({column}) FROM {table}), 0) + 1, false)")
    except StoreUnavailable as exc:
        print(f"{target.describe()}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (sqlite3.Error, psycopg.Error) as exc:  # nothing was copied: the transaction rolled back
        print(f"copy-data stopped, nothing copied: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        close_all(databases)
    for table, count in counts:
        print(f"{table}: {count} rows")
    return 0


def _copy_file(path: Path, target: Connection) -> list[tuple[str, int]]:
    """Replace each data table of the SQLite file in the target, in the order the tables were created (a
    referenced table before its referrer), all read in one read transaction; returns (table, rows) for each."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)) as source:
        source.execute("BEGIN")
        tables = source.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                                "'sqlite_%' AND name != '_migrations' ORDER BY rowid").fetchall()
        return [(table, _copy_table(source, table, "WITHOUT ROWID" in sql.upper(), target)) for table, sql in tables]


def _copy_table(source: sqlite3.Connection, table: str, without_rowid: bool, target: Connection) -> int:
    """Replace ``table`` in the target by the source's rows in their rowid order; returns how many."""
    cursor = source.execute(f'SELECT * FROM "{table}"' + ("" if without_rowid else " ORDER BY rowid"))
    columns = ", ".join(f'"{column[0]}"' for column in cursor.description)
    insert = f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join("?" * len(cursor.description))})'
    target.execute(f'DELETE FROM "{table}"')
    count = 0
    while rows := cursor.fetchmany(BATCH):
        target.executemany(insert, rows)
        count += len(rows)
    return count


def run_backup(args: argparse.Namespace) -> int:
    target, _default = database_target(args, DATABASE_ENV, DEFAULT_DB)
    if is_url(target):
        print("a PostgreSQL database is backed up with PostgreSQL's tools: pg_dump for a copy, or base backups "
              "(pg_basebackup) with WAL archiving for point-in-time recovery", file=sys.stderr)
        return EXIT_CONFIG
    folder: Path = args.target
    files = {name: path for name, path in sqlite_files(Path(target)).items() if path.is_file()}
    if "backend" not in files:
        print(f"{target}: no backend database here (give --db PATH or BACKEND_DATABASE_URL)", file=sys.stderr)
        return EXIT_CONFIG
    if not folder.is_dir():
        print(f"--to {folder}: not an existing directory", file=sys.stderr)
        return EXIT_CONFIG
    if folder.resolve() == Path(target).resolve().parent:
        print(f"--to {folder}: that is where the live files are; give another directory", file=sys.stderr)
        return EXIT_CONFIG
    for path in files.values():
        db = SqliteDatabase(path)
        try:
            db.backup(folder / path.name)
        finally:
            db.close()
        print(f"{path} → {folder / path.name}")
    return 0
