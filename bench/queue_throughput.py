"""Durable tickets per second from the queue engine: in one process, and with 4 processes sharing the file.

Each issue is its own committed transaction (WAL, synchronous=NORMAL: survives an application crash or kill -9;
a power cut may lose the last few hundred milliseconds of commits but never corrupts the file). Baseline in the
same run: the same number of plain single-row INSERT transactions on a WAL SQLite file, i.e. what SQLite itself
allows on this disk. Usage: ``python bench/queue_throughput.py [--count 3000]``.
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

from queueing.engine import QueueEngine  # noqa: E402
from queueing.services import ServiceDef  # noqa: E402

SERVICES = [ServiceDef(code=f"S{i}", name_vi=f"Dịch vụ {i}", prefix="ABCD"[i], counters=[i + 1]) for i in range(4)]


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


def issue_run(path: str, worker: int, count: int) -> list[float]:
    engine = QueueEngine(path, SERVICES)
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        engine.issue(SERVICES[i % 4].code, request_id=f"{worker}-{i}")
        latencies.append(time.perf_counter() - started)
    return latencies


def report(label: str, latencies: list[float], wall: float) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(f"{label}: {len(latencies) / wall:,.0f} tickets/s, latency p50 {q[49] * 1000:.2f} ms, "
          f"p99 {q[98] * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    count = parser.parse_args().count
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline(Path(tmp) / "baseline.db", count)
        print(f"baseline: plain SQLite single-row transactions: {base:,.0f}/s")
        path = str(Path(tmp) / "queue.db")
        QueueEngine(path, SERVICES).close()
        started = time.perf_counter()
        latencies = issue_run(path, 0, count)
        wall = time.perf_counter() - started
        report("1 process", latencies, wall)
        print(f"  = {len(latencies) / wall / base:.0%} of the baseline")
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(4) as pool:
            started = time.perf_counter()
            chunks = pool.starmap(issue_run, [(path, w + 1, count // 4) for w in range(4)])
            wall = time.perf_counter() - started
        report("4 processes, one file", [x for c in chunks for x in c], wall)


if __name__ == "__main__":
    main()
