"""Branch queue server throughput on loopback: tickets/s from 8 kiosk clients, calls/s from 20 counters, on SQLite
and on PostgreSQL with several server processes.

The server runs as in production (``python main.py queue serve`` in its own process, one uvicorn worker); each
kiosk or counter is its own client process with a keep-alive httpx connection, as real kiosks and counter PCs are.
With ``--postgres`` (a durable throw-away cluster, ``tests.pgcluster``) or ``--db postgresql://…`` the same phases
then run against ``--processes N`` server processes on that database, clients spread over them round-robin, right
after the SQLite run (one process: a SQLite file is served by one), so the two are measured side by side. After each
run the tickets are counted in the database: numbers must be dense and never duplicated.

1. ceiling: ``GET /health`` from the same 8 clients, i.e. what the HTTP stack alone allows on this machine;
2. tickets: 8 clients each ``POST /api/tickets`` (4 services, fresh request ids), latency per request;
3. calls: 20 counters (5 per service) each logged in, looping ``call-next`` + ``finish`` over pre-issued tickets.

The machine is shared by the server and all clients, so besides rates and latencies each phase reports the
server process's own CPU time per request (from /proc): 1 / that is what one core can serve when the kiosks are
other machines, as in a centre, and it is far less noisy than the rates on a busy 2-vCPU box.
Every run is bounded in count (``--tickets``, ``--calls``) and time (``--max-seconds`` per client).
``--waiting N`` puts N tickets in every service's line (one in ten a priority ticket) before the server starts, so
the phases run against a long line: issuing should cost the same whatever N is.
Usage: ``python bench/branch_throughput.py [--tickets 500] [--calls 40] [--max-seconds 30] [--waiting 0]
[--postgres | --db URL] [--processes 2]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.server import free_port  # noqa: E402
from config.loader import load_config  # noqa: E402
from contracts.pin import hash_pin  # noqa: E402
from contracts.sqldb import open_database  # noqa: E402
from queueing.engine import QueueEngine  # noqa: E402

CLIENTS = 8
COUNTERS = 20
SERVICES = 4
PASSWORD = "864213"
KIOSK_TOKEN = "BENCH:bench-kiosk-token-not-a-secret"  # <kiosk id>:<secret>, this run only
AUTH = {"Authorization": f"Bearer {KIOSK_TOKEN}"}


def site_config(path: Path, data_dir: Path) -> None:
    pin_hash = hash_pin(PASSWORD)
    lines = [f'data_dir = "{data_dir}"', "[queue]", "services = ["]
    per = COUNTERS // SERVICES
    for s in range(SERVICES):
        counters = list(range(s * per + 1, (s + 1) * per + 1))
        lines.append(f'  {{ code = "S{s}", name_vi = "Dịch vụ {s}", prefix = "{"ABCD"[s]}", hours = "always", '
                     f"counters = {counters} }},")
    lines.append("]")
    for n in range(1, COUNTERS + 1):
        lines += ["[[queue.counters]]", f"number = {n}", f'pin_hash = "{pin_hash}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def prefill(db: Path | str, config: Path, waiting: int) -> None:
    """``waiting`` tickets in every service's line, issued through the engine as the server would."""
    engine = QueueEngine(db, load_config(config).queue.services, synchronous="NORMAL")
    try:
        for i in range(waiting * SERVICES):
            engine.issue(f"S{i % SERVICES}", request_id=f"line-{i}", priority="elderly" if i % 10 == 9 else None)
    finally:
        engine.close()


def wait_ready(url: str, server: subprocess.Popen, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the queue server did not start")


def health_client(url: str, worker: int, count: int, max_s: float) -> tuple[list[float], float, float]:
    with httpx.Client(base_url=url, timeout=10, headers=AUTH) as http:
        http.get("/health")
        return _timed(lambda _i: http.get("/health"), count, max_s)


def ticket_client(url: str, worker: int, count: int, max_s: float) -> tuple[list[float], float, float]:
    with httpx.Client(base_url=url, timeout=10, headers=AUTH) as http:
        http.get("/health")

        def issue(i: int) -> httpx.Response:
            return http.post("/api/tickets", json={"service": f"S{i % SERVICES}", "request_id": f"w{worker}-{i}",
                                                   "kiosk_id": f"K{worker}"})
        return _timed(issue, count, max_s)


def counter_client(url: str, login: tuple[int, str], count: int, max_s: float) -> tuple[list[float], float, float]:
    counter, token = login
    with httpx.Client(base_url=url, timeout=10, headers=AUTH) as http:
        auth = {"Authorization": f"Bearer {token}"}
        http.get(f"/api/counters/{counter}", headers=auth)

        def call(_i: int) -> httpx.Response:
            response = http.post(f"/api/counters/{counter}/call-next", headers=auth)
            http.post(f"/api/counters/{counter}/finish", headers=auth)
            return response
        return _timed(call, count, max_s)


def _timed(request, count: int, max_s: float) -> tuple[list[float], float, float]:
    """Latencies of ``count`` requests (fewer if ``max_s`` runs out), and the wall-clock span they took."""
    latencies = []
    began = time.time()
    stop = time.monotonic() + max_s
    for i in range(count):
        if time.monotonic() > stop:
            break
        started = time.perf_counter()
        response = request(i)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"request failed: {response.status_code} {response.text}")
    return latencies, began, time.time()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(pool, fn, urls: list[str], workers: list, count: int, max_s: float,
        server_pids: list[int]) -> tuple[list[float], float, float]:
    """Latencies, wall-clock seconds, and the servers' CPU seconds of one phase (client i talks to server i mod N)."""
    cpu_before = sum(cpu_seconds(pid) for pid in server_pids)
    results = pool.starmap(fn, [(urls[i % len(urls)], w, count, max_s) for i, w in enumerate(workers)])
    wall = max(r[2] for r in results) - min(r[1] for r in results)
    return [x for r in results for x in r[0]], wall, sum(cpu_seconds(pid) for pid in server_pids) - cpu_before


def show(label: str, unit: str, latencies: list[float], wall: float, server_cpu: float, per: int = 1) -> None:
    q = statistics.quantiles(latencies, n=100)
    cpu_ms = server_cpu / len(latencies) * 1000
    print(f"{label}: {len(latencies):,} in {wall:.2f} s = {len(latencies) / wall:,.0f} {unit}/s; latency "
          f"p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms; server CPU "
          f"{cpu_ms:.2f} ms per {unit[:-1] if per == 1 else unit[:-1] + f' ({per} requests)'} "
          f"= {1000 / cpu_ms:,.0f} {unit}/s per core")


def check_numbers(target: Path | str) -> str:
    """Duplicated and missing numbers per service and day, counted in the database after the run."""
    db = open_database(target)
    try:
        duplicates, gaps, total = db.query(
            "SELECT COALESCE(SUM(n - d), 0), COALESCE(SUM(top - d), 0), COALESCE(SUM(n), 0) FROM ("
            "SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS d, MAX(seq) AS top FROM tickets WHERE seq IS NOT NULL "
            "GROUP BY day, service) AS per_line")[0]
    finally:
        db.close()
    return f"{total:,} tickets in the database: {duplicates} duplicate numbers, {gaps} missing"


def bench(label: str, target: Path | str, processes: int, args: argparse.Namespace, tmp: Path) -> None:
    """Every phase against ``processes`` servers on ``target``."""
    print(f"-- {label}: {processes} server process{'es' if processes > 1 else ''}")
    config = tmp / "bench.toml"
    site_config(config, tmp)
    started = time.monotonic()
    prefill(target, config, args.waiting)
    if args.waiting:
        print(f"  ({args.waiting * SERVICES:,} tickets put in the lines in {time.monotonic() - started:.0f} s)")
    ports = [free_port() for _ in range(processes)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    servers = [subprocess.Popen([sys.executable, "main.py", "--config", str(config), "queue", "serve", "--port",
                                 str(port), "--db", str(target)], cwd=ROOT,
                                env={**os.environ, "QUEUE_KIOSK_TOKEN": KIOSK_TOKEN}) for port in ports]
    pids = [server.pid for server in servers]
    try:
        for url, server in zip(urls, servers):
            wait_ready(url, server)
        with multiprocessing.get_context("spawn").Pool(COUNTERS) as pool:
            show("ceiling, GET /health, 8 clients", "requests", *run(
                pool, health_client, urls, list(range(CLIENTS)), args.tickets, args.max_seconds, pids))
            latencies, wall, cpu = run(pool, ticket_client, urls, list(range(CLIENTS)), args.tickets,
                                       args.max_seconds, pids)
            show("tickets, POST /api/tickets, 8 kiosk clients", "tickets", latencies, wall, cpu)
            p99 = statistics.quantiles(latencies, n=100)[98]
            rate = len(latencies) / wall
            print(f"  goal >= 1,000 tickets/s and p99 <= 20 ms: "
                  f"{'met' if rate >= 1000 and p99 <= 0.020 else 'MISSED'}")
            # enough waiting tickets for every call
            with httpx.Client(base_url=urls[0], timeout=10, headers=AUTH) as http:
                for i in range(COUNTERS * args.calls - len(latencies) - args.waiting * SERVICES):
                    http.post("/api/tickets", json={"service": f"S{i % SERVICES}", "request_id": f"pre-{i}"})
                # log in before timing: a login is a deliberately slow scrypt check, not part of calling; the
                # token works on every process (logins are in the database)
                logins = [(n, http.post(f"/api/counters/{n}/login", json={"password": PASSWORD}).json()["token"])
                          for n in range(1, COUNTERS + 1)]
            show("calls, call-next (+ finish) from 20 counters", "calls", *run(
                pool, counter_client, urls, logins, args.calls, args.max_seconds, pids), per=2)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
    print(f"  {check_numbers(target)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=500, help="tickets per kiosk client (default 500)")
    parser.add_argument("--calls", type=int, default=40, help="calls per counter (default 40)")
    parser.add_argument("--max-seconds", type=float, default=30, help="time limit per client and phase")
    parser.add_argument("--waiting", type=int, default=0, help="tickets waiting in each service's line at the "
                                                               "start (default 0)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true", help="also run on a throw-away durable PostgreSQL cluster")
    where.add_argument("--db", metavar="URL", help="also run on this (empty) postgresql:// database")
    parser.add_argument("--processes", type=int, default=2, help="server processes on PostgreSQL (default 2)")
    args = parser.parse_args()
    print(f"{platform.node()}: {multiprocessing.cpu_count()} CPU, Python {platform.python_version()}; "
          f"{args.waiting:,} waiting per service at the start")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sqlite").mkdir()
        bench("SQLite", Path(tmp) / "sqlite" / "queue.db", 1, args, Path(tmp) / "sqlite")
        if not (args.postgres or args.db):
            return
        (Path(tmp) / "pg").mkdir()
        if args.db:
            bench(f"PostgreSQL at {args.db.split('@')[-1]}", args.db, args.processes, args, Path(tmp) / "pg")
            return
        from tests.pgcluster import start_cluster

        cluster = start_cluster(durable=True)
        try:
            bench("PostgreSQL 15, durable cluster on this machine", cluster.fresh_database("bench"),
                  args.processes, args, Path(tmp) / "pg")
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
