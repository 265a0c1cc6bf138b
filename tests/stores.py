"""Which engine the servers' stores run on in this test run: SQLite files (default) or a throw-away PostgreSQL.

`make test` runs the whole suite on SQLite, then the tests marked ``stores`` (the backend's and the queue server's
stores, their HTTP APIs and CLIs) again with ``--store postgresql``: the same tests on both engines. A test asks
for its database with :func:`store_target` (a path under SQLite, a fresh PostgreSQL database's URL otherwise);
tests that always need PostgreSQL (several server processes on one database) use :func:`cluster` directly. The
cluster starts on first use, once per pytest process, and is removed when the run ends.
"""

from __future__ import annotations

import atexit
from pathlib import Path

from tests.pgcluster import Cluster, start_cluster

ENGINES = ("sqlite", "postgresql")
engine = "sqlite"  # set from --store by tests/conftest.py
_cluster: Cluster | None = None


def cluster() -> Cluster:
    global _cluster
    if _cluster is None:
        _cluster = start_cluster()
        atexit.register(_cluster.stop)
    return _cluster


def store_target(path: Path) -> str | Path:
    """Where a test's server store lives: ``path`` on SQLite, a new empty PostgreSQL database otherwise."""
    return path if engine == "sqlite" else cluster().fresh_database()


def on_postgres() -> bool:
    return engine == "postgresql"
