"""Durable tickets per second from the queue engine: in one process, and with 4 processes sharing the file.

Each issue is its own committed ``BEGIN IMMEDIATE`` transaction followed by the "people ahead / estimated wait"
read the kiosk prints, exactly as ``QueueEngine.issue`` runs for a citizen. Durability modes:

* WAL + ``synchronous=NORMAL`` (the default): survives an application crash or kill -9; a power cut may lose the
  commits since the last checkpoint but never corrupts the file.
* WAL + ``synchronous=FULL``: one fsync per ticket, survives a power cut too; measured here for the trade-off.

Baseline in the same run: plain single-row INSERT transactions on a WAL file, i.e. what SQLite itself allows on
this disk. The waiting lines grow through the run (nobody is called), which is the worst case for "people ahead".
Usage: ``python bench/queue_throughput.py [--count 3000]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.services import ServiceDef  # noqa: E402
from queueing.db import Synchronous  # noqa: E402
from queueing.engine import QueueEngine  # noqa: E402

SERVICES = [ServiceDef(code=f"S{i}", name_vi=f"Dịch vụ {i}", prefix="ABCD"[i], counters=[i + 1], hours="always")
            for i in range(4)]


def baseline(path: Path, count: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    started = time.perf_counter()
    for i in range(count):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", [str(i)])
        conn.execute("COMMIT")
    return count / (time.perf_counter() - started)


def issue_run(path: str, worker: int, count: int, synchronous: Synchronous = "NORMAL") -> list[float]:
    engine = QueueEngine(path, SERVICES, synchronous=synchronous)
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        engine.issue(SERVICES[i % 4].code, request_id=f"{worker}-{i}", kiosk_id=f"K{worker}")
        latencies.append(time.perf_counter() - started)
    engine.close()
    return latencies


def report(label: str, latencies: list[float], wall: float) -> float:
    q = statistics.quantiles(latencies, n=100)
    rate = len(latencies) / wall
    print(f"{label}: {rate:,.0f} tickets/s, issue latency p50 {q[49] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms")
    return rate


def timed_run(path: str, count: int, synchronous: Synchronous) -> tuple[list[float], float]:
    QueueEngine(path, SERVICES, synchronous=synchronous).close()  # migrations outside the timing
    started = time.perf_counter()
    latencies = issue_run(path, 0, count, synchronous)
    return latencies, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="tickets per run (default 3000)")
    count = parser.parse_args().count
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline(Path(tmp) / "baseline.db", count)
        print(f"baseline, plain SQLite single-row transactions (WAL, NORMAL): {base:,.0f}/s")
        rate = report("1 process, WAL + synchronous=NORMAL", *timed_run(str(Path(tmp) / "normal.db"), count,
                                                                        "NORMAL"))
        print(f"  = {rate / base:.0%} of the baseline; goal >= 2,000 tickets/s: {'met' if rate >= 2000 else 'MISSED'}")
        report("1 process, WAL + synchronous=FULL (fsync per ticket)",
               *timed_run(str(Path(tmp) / "full.db"), max(count // 3, 100), "FULL"))
        path = str(Path(tmp) / "shared.db")
        QueueEngine(path, SERVICES).close()
        with multiprocessing.get_context("spawn").Pool(4) as pool:
            pool.starmap(issue_run, [(path, w + 100, 1) for w in range(4)])  # start the workers before timing
            started = time.perf_counter()
            chunks = pool.starmap(issue_run, [(path, w + 1, count // 4) for w in range(4)])
            wall = time.perf_counter() - started
        report("4 processes sharing one file, NORMAL", [x for c in chunks for x in c], wall)


if __name__ == "__main__":
    main()
