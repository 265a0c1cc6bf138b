"""The servers of the city bench: ``backend serve`` and ``queue serve`` as real processes, as a site runs them.

Each configuration gets fresh stores: SQLite files in a temporary directory, or two new databases on a durable
throw-away PostgreSQL cluster (``tests.pgcluster.start_cluster(durable=True)``: PostgreSQL's default fsync and
commit settings, so the figures are what a site would see). Secrets reach the servers through the environment,
never the command line. A server's CPU time is its whole process tree (uvicorn's supervisor and its workers) read
from /proc, and the database's is the PostgreSQL cluster's process tree; a SQLite store's work is inside the
server's own processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from backend.server import free_port
from bench._phones import bench_limits
from contracts.pin import hash_pin

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 90.0  # four workers each importing the app on a busy 2-core machine
COUNTER_PASSWORD = "864213"


class ServerDidNotStart(RuntimeError):
    """The message is the server's last words (e.g. ``--db postgresql://…`` refused by a build without it)."""


@dataclass(frozen=True)
class Setup:
    """One configuration: the engine the stores run on and how many processes each server runs."""

    engine: str  # "sqlite" or "postgresql"
    workers: int

    @property
    def label(self) -> str:
        return "SQLite, 1 process" if self.engine == "sqlite" else \
            f"PostgreSQL, {self.workers} process{'es' if self.workers > 1 else ''}"

    @classmethod
    def parse(cls, text: str) -> Setup:
        """``sqlite`` or ``pgN`` (PostgreSQL with N processes per server)."""
        if text == "sqlite":
            return cls("sqlite", 1)
        if text.startswith("pg") and text[2:].isdigit() and int(text[2:]) >= 1:
            return cls("postgresql", int(text[2:]))
        raise ValueError(f"{text!r}: use sqlite or pgN (e.g. pg2)")


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, CPU seconds of the process and of its children it has waited for)."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        table[int(entry)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    return table


def _tree(roots: list[int], table: dict[int, tuple[int, float]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu) in table.items():
        children.setdefault(ppid, []).append(pid)
    seen, stack = set(), [pid for pid in roots if pid in table]
    while stack:
        pid = stack.pop()
        if pid not in seen:
            seen.add(pid)
            stack.extend(children.get(pid, []))
    return seen


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds of the process trees under ``roots``."""
    table = _proc_table()
    return sum(table[pid][1] for pid in _tree(roots, table))


def serving_processes(root: int) -> int:
    """How many processes answer requests: uvicorn's workers (spawned by ``multiprocessing``), else the one."""
    workers = 0
    for pid in _tree([root], _proc_table()):
        try:
            workers += b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
    return workers or 1


class Served:
    """``python main.py <words> --port P`` in its own process until :meth:`stop`; its stderr goes to ``log``."""

    def __init__(self, words: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *words, "--port", str(self.port)],
                                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServerDidNotStart(self.last_words())
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 5) -> list[str]:
        """The last lines the server wrote (its start-up banner and warnings, or its errors)."""
        return [line[:300] for line in self.log.read_text(errors="replace").splitlines() if line.strip()][-lines:]

    def last_words(self) -> str:
        return (self.log_tail(1) or [f"exited with {self.proc.returncode}"])[0]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def clean_env(**secrets: str) -> dict[str, str]:
    """This environment without any server secret or database variable (``BACKEND_*``, ``QUEUE_*``), plus ours."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith(("BACKEND_", "QUEUE_"))}
    return {**kept, **secrets}


def queue_config(path: Path, data_dir: Path, branches: list[int], counters_per_branch: int) -> list[list[int]]:
    """A queue server config with one service per branch (``B01``…), each with its own counters; returns the
    counter numbers of each branch (numbered across the city, so no two deployments share one). The counters share
    one password whose scrypt hash is cheap (N = 2^10): logging them in at the start is not what is measured. The
    phone queue's limits per client address are raised (``bench._phones.bench_limits``): every phone is 127.0.0.1."""
    pin_hash = hash_pin(COUNTER_PASSWORD, n=2**10)
    lines = [f'data_dir = "{data_dir}"', "[queue]", "services = ["]
    counters = []
    for b in branches:
        numbers = list(range(b * counters_per_branch + 1, (b + 1) * counters_per_branch + 1))
        counters.append(numbers)
        lines.append(f'  {{ code = "{branch_code(b)}", name_vi = "Chi nhánh {b + 1}", prefix = "{_prefix(b)}", '
                     f'digits = 4, hours = "always", counters = {numbers} }},')
    lines += ["]", *bench_limits()]
    for number in (n for numbers in counters for n in numbers):
        lines += ["[[queue.counters]]", f"number = {number}", f'pin_hash = "{pin_hash}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counters


def branch_code(branch: int) -> str:
    return f"B{branch + 1:02d}"


def _prefix(branch: int) -> str:
    """A, B, … Z, AA, AB, …: each branch's numbers look like its own."""
    first, second = divmod(branch, 26)
    return ("" if first == 0 else chr(64 + first)) + chr(65 + second)


class Stores:
    """Where one configuration's data lives: SQLite files, or new databases on the bench's cluster — the backend's
    and one per queue deployment."""

    def __init__(self, setup: Setup, tmp: Path, cluster: Any, queue_servers: int) -> None:
        self.cluster = cluster
        if setup.engine == "sqlite":
            self.backend = str(tmp / "backend.db")
            self.queues = [str(tmp / f"queue-{d}.db") for d in range(queue_servers)]
        else:
            self.backend = cluster.fresh_database("city_backend")
            self.queues = [cluster.fresh_database(f"city_queue{d}") for d in range(queue_servers)]

    def database_pids(self) -> list[int]:
        """The PostgreSQL postmaster (its tree is every backend process); none for SQLite."""
        if self.cluster is None:
            return []
        return [int((self.cluster.root / "data" / "postmaster.pid").read_text().split()[0])]


def ticket_audit(targets: list[str]) -> dict[str, int]:
    """What the queues' databases hold after a run: tickets, numbers given twice in a service's day, and
    service-days whose sequence has a gap (numbers must be dense: no number lost to a rollback)."""
    from contracts.sqldb import open_database

    totals = {"tickets": 0, "duplicates": 0, "gapped_services": 0}
    for target in targets:
        db = open_database(target if "://" in target else Path(target))
        try:
            totals["tickets"] += db.query("SELECT count(*) FROM tickets")[0][0]
            totals["duplicates"] += db.query("SELECT count(*) FROM (SELECT day, service, number FROM tickets "
                                             "GROUP BY day, service, number HAVING count(*) > 1) AS d")[0][0]
            totals["gapped_services"] += db.query(
                "SELECT count(*) FROM (SELECT day, service FROM tickets WHERE seq IS NOT NULL "
                "GROUP BY day, service HAVING max(seq) - min(seq) + 1 <> count(*)) AS g")[0][0]
        finally:
            db.close()
    return totals
