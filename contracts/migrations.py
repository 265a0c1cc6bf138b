"""Named schema migrations in the sqlite-utils style: plain functions registered by name, applied once each.

Applied migrations are recorded by name in the ``_migrations`` table (not by file order or a version number), so
adding one is appending a decorated function. Each migration and the row recording it commit in one
``BEGIN IMMEDIATE`` transaction: two processes opening a fresh file at the same moment cannot both apply it, and a
migration that fails leaves no trace.

    queue_migrations = Migrations()

    @queue_migrations("0003_day_sequences")
    def _sequences(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE ...")
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]
TABLE = "_migrations"


class Migrations:
    def __init__(self) -> None:
        self._steps: dict[str, Migration] = {}

    def __call__(self, name: str) -> Callable[[Migration], Migration]:
        """Register ``fn`` under ``name``; names are permanent once shipped, so a duplicate is a programming error."""
        if name in self._steps:
            raise ValueError(f"migration {name!r} is registered twice")

        def register(fn: Migration) -> Migration:
            self._steps[name] = fn
            return fn

        return register

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._steps)

    def applied(self, db: sqlite_utils.Database) -> list[str]:
        """Names already applied to ``db`` (read-only)."""
        if not db[TABLE].exists():
            return []
        return [row[0] for row in db.execute(f"SELECT name FROM {TABLE} ORDER BY rowid").fetchall()]

    def pending(self, db: sqlite_utils.Database) -> list[str]:
        """Names registered but not yet applied to ``db``, in registration order (read-only)."""
        done = set(self.applied(db))
        return [name for name in self.names() if name not in done]

    def apply(self, db: sqlite_utils.Database) -> list[str]:
        """Apply every pending migration, each in its own write transaction; returns the names applied now."""
        db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, "
                   "applied_at TEXT DEFAULT CURRENT_TIMESTAMP)")
        applied_now = []
        for name in self.pending(db):
            conn = db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                # another process may have applied it between pending() and taking the write lock
                if not conn.execute(f"SELECT 1 FROM {TABLE} WHERE name = ?", [name]).fetchone():
                    self._steps[name](db)
                    conn.execute(f"INSERT INTO {TABLE} (name) VALUES (?)", [name])
                    applied_now.append(name)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return applied_now
