"""Durable tickets per second from the queue engine: in one process, and with 4 processes sharing the file.

Each issue is its own committed ``BEGIN IMMEDIATE`` transaction followed by the "people ahead / estimated wait"
read the kiosk prints, exactly as ``QueueEngine.issue`` runs for a citizen. Durability modes:

* ``GROUP`` (the engine's default): SQLite commits with ``synchronous=NORMAL`` and the WAL is fsynced before the
  issue returns, one fsync for every commit made meanwhile: survives a power cut. Measured with one caller and with
  8 threads issuing at once (kiosks on the branch server, whose writes run on worker threads).
* ``synchronous=FULL``: SQLite's own, one fsync per ticket; the same guarantee.
* ``synchronous=NORMAL``: survives an application crash or kill -9; a power cut may lose the commits since the
  last checkpoint but never corrupts the file. The speed without any fsync, for comparison.

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
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.services import ServiceDef  # noqa: E402
from queueing.db import Synchronous  # noqa: E402
from queueing.engine import QueueEngine  # noqa: E402

THREADS = 8
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


def issue_run(path: str, worker: int, count: int, synchronous: Synchronous = "GROUP") -> list[float]:
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


def threaded_run(path: str, count: int, threads: int, synchronous: Synchronous) -> tuple[list[float], float]:
    """``threads`` callers sharing one engine, as the branch server's worker threads do."""
    engine = QueueEngine(path, SERVICES, synchronous=synchronous)
    latencies: list[float] = []
    start = threading.Barrier(threads + 1)

    def caller(worker: int) -> None:
        start.wait()
        for i in range(count // threads):
            began = time.perf_counter()
            engine.issue(SERVICES[i % 4].code, request_id=f"t{worker}-{i}", kiosk_id=f"K{worker}")
            latencies.append(time.perf_counter() - began)

    workers = [threading.Thread(target=caller, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    engine.close()
    return latencies, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="tickets per run (default 3000)")
    count = parser.parse_args().count
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline(Path(tmp) / "baseline.db", count)
        print(f"baseline, plain SQLite single-row transactions (WAL, NORMAL): {base:,.0f}/s")
        normal = report("1 process, NORMAL (no fsync: may lose the last tickets in a power cut)",
                        *timed_run(str(Path(tmp) / "normal.db"), count, "NORMAL"))
        full = report("1 process, FULL (fsync per ticket)", *timed_run(str(Path(tmp) / "full.db"), count, "FULL"))
        group = report("1 process, GROUP, 1 caller", *timed_run(str(Path(tmp) / "group.db"), count, "GROUP"))
        threaded = report(f"1 process, GROUP, {THREADS} threads issuing at once",
                          *threaded_run(str(Path(tmp) / "group8.db"), count, THREADS, "GROUP"))
        print(f"  durable: FULL {full / normal:.0%}, GROUP {group / normal:.0%} (1 caller) and "
              f"{threaded / normal:.0%} ({THREADS} threads) of NORMAL; goal >= 2,000 durable tickets/s: "
              f"{'met' if max(full, group, threaded) >= 2000 else 'MISSED'}")
        path = str(Path(tmp) / "shared.db")
        QueueEngine(path, SERVICES).close()
        with multiprocessing.get_context("spawn").Pool(4) as pool:
            pool.starmap(issue_run, [(path, w + 100, 1) for w in range(4)])  # start the workers before timing
            started = time.perf_counter()
            chunks = pool.starmap(issue_run, [(path, w + 1, count // 4) for w in range(4)])
            wall = time.perf_counter() - started
        report("4 processes sharing one file, GROUP", [x for c in chunks for x in c], wall)


if __name__ == "__main__":
    main()
