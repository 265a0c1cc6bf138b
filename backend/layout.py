"""Where the backend's tables live: SQLite files side by side, or one PostgreSQL database for every process.

A ward box keeps ``backend.db`` with ``content.db``, ``fleet.db``, ``survey.db`` and ``city.db`` beside it (files
shipped like that stay so: a site keeps its data); a city gives one ``postgresql://`` URL and every table is in that
database (the table names are distinct). ``backend migrate``, ``copy-data`` and ``backup`` go through this list, so a
new store file or migration set is added in one place.
"""

from __future__ import annotations

from pathlib import Path

from backend.admin.sessions import session_migrations
from backend.city import city_migrations
from backend.content_routes import content_migrations
from backend.fleet import fleet_migrations
from backend.store import migrations
from backend.surveys import survey_migrations
from contracts.migrations import Migrations
from contracts.ratelimit import ratelimit_migrations
from contracts.sqldb import Database, is_url, open_database

BESIDE = ("content", "fleet", "survey", "city")  # the SQLite files beside backend.db, as <name>.db
# each store file's migration sets (the admin sessions share fleet.db)
MIGRATIONS: dict[str, tuple[Migrations, ...]] = {
    "backend": (migrations,), "content": (content_migrations,), "fleet": (fleet_migrations, session_migrations),
    "survey": (survey_migrations,), "city": (city_migrations,)}
SHARED_ONLY = (ratelimit_migrations,)  # the look-up counters all processes share: PostgreSQL only


def sqlite_files(backend_db: Path) -> dict[str, Path]:
    """Store name → its SQLite file, ``backend_db`` first."""
    return {"backend": backend_db, **{name: backend_db.with_name(f"{name}.db") for name in BESIDE}}


def open_all(target: str | Path, *, create_dir: bool = False) -> dict[str, Database]:
    """Store name → its database: one SQLite file each, or the one PostgreSQL database for all of them.

    :raises contracts.sqldb.DatabaseTargetError: ``target`` cannot be used.
    """
    if is_url(target):
        shared = open_database(target)
        return dict.fromkeys(MIGRATIONS, shared)
    files = sqlite_files(Path(target))
    first = open_database(files["backend"], create_dir=create_dir)
    return {"backend": first, **{name: open_database(path) for name, path in files.items() if name != "backend"}}


def migrate_all(databases: dict[str, Database]) -> list[tuple[str, str]]:
    """Apply every pending migration; returns (where, migration name) for each applied now."""
    applied = []
    for name, sets in MIGRATIONS.items():
        db = databases[name]
        extra = SHARED_ONLY if name == "backend" and db.dialect == "postgresql" else ()
        for migration_set in (*sets, *extra):
            applied += [(db.describe(), step) for step in db.migrate(migration_set)]
    return applied


def close_all(databases: dict[str, Database]) -> None:
    for db in {id(db): db for db in databases.values()}.values():
        db.close()
