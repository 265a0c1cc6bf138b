"""Throw-away PostgreSQL clusters for the tests and benches: ``initdb`` + ``pg_ctl`` in a temporary directory.

A cluster listens on a Unix socket in its own directory only (``listen_addresses = ''``), so clusters of several
test runs on one machine never meet, and nothing is reachable from the network. As root, the server runs as the
``postgres`` user (PostgreSQL refuses to run as root) and the directory is handed to it. Each test gets a fresh
database (``fresh_database``); the tests' cluster trades durability for speed (``fsync = off``), the benches'
(``durable=True``) keeps PostgreSQL's defaults so their figures are what a site would see.

The binaries come from Debian's ``postgresql`` package, which ``scripts/bootstrap.sh`` installs when missing.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PORT = 5432  # only names the socket file: nothing listens on TCP
_SETTINGS_FAST = ("fsync = off", "synchronous_commit = off", "full_page_writes = off")


class NoPostgres(RuntimeError):
    pass


def binaries() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (Debian keeps them out of PATH)."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise NoPostgres("PostgreSQL is not installed: run scripts/bootstrap.sh (it installs Debian's postgresql)")


@dataclass
class Cluster:
    root: Path
    user: str
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}&port={PORT}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run([str(binaries() / "psql"), "-h", str(self.socket_dir), "-p", str(PORT), "-U",
                                 self.user, "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                capture_output=True, text=True, check=True, timeout=60)
        return result.stdout.strip()

    def fresh_database(self, prefix: str = "t") -> str:
        """A new empty database's URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def restart(self) -> None:
        """Stop at once (every connection cut, as in a crash or fail-over) and start again."""
        data = str(self.root / "data")
        _as_owner([str(binaries() / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], self.user)
        _as_owner([str(binaries() / "pg_ctl"), "-D", data, "-l", str(self.root / "server.log"), "-w", "-t", "60",
                   "start"], self.user)

    def stop(self) -> None:
        _as_owner([str(binaries() / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"],
                  self.user, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(*, durable: bool = False) -> Cluster:
    """Create and start a cluster in a new temporary directory; ``Cluster.stop`` removes it."""
    bin_dir = binaries()
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    root = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
    (root / "socket").mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam(user)
        for path in (root, root / "socket"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    data = root / "data"
    _as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8",
               "--locale=C.UTF-8", "-N"], user)
    settings = ["listen_addresses = ''", f"unix_socket_directories = '{root / 'socket'}'", f"port = {PORT}",
                "max_connections = 500", "shared_buffers = 128MB"]
    if not durable:
        settings += _SETTINGS_FAST
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write("\n".join(settings) + "\n")
    _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60",
               "start"], user)
    return Cluster(root, user)


def _as_owner(command: list[str], user: str, check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        command = ["runuser", "-u", user, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)
