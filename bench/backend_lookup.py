"""Reference backend status look-ups on loopback: look-ups/s and latency with 16 concurrent kiosk clients.

The backend runs as in production (``python main.py backend serve`` in its own process, one uvicorn worker,
SQLite store); each client is its own process with a keep-alive httpx connection and a kiosk bearer token, as
kiosks are. Phases, 16 clients each:

1. baseline: ``GET /health``, i.e. what the HTTP stack alone allows here;
2. look-ups: ``GET /api/dossiers/{code}`` over the five demo dossiers in turn (token check, three indexed
   queries, the masked status as JSON), i.e. what a kiosk sends per scan.

Server and clients share the machine's CPUs, so rates and latencies are a floor; the server process's own CPU
time per request (from /proc) is the steadier figure, and 1 ÷ that is what one core serves when the kiosks are
other machines. Bounded in count (``--requests`` per client) and time (``--max-seconds`` per client and phase).
Usage: ``python bench/backend_lookup.py [--requests 500] [--max-seconds 30]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
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
from bench.branch_throughput import _timed, health_client, run, show  # noqa: E402

CLIENTS = 16
TOKEN = "bench-kiosk-token-0123456789"
CODES = [f"000.00.13.H26-251120-{n:04d}" for n in range(1, 6)]


def lookup_client(url: str, worker: int, count: int, max_s: float) -> tuple[list[float], float, float]:
    with httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        http.get(f"/api/dossiers/{CODES[0]}")  # connect before timing
        return _timed(lambda i: http.get(f"/api/dossiers/{CODES[(worker + i) % len(CODES)]}"), count, max_s)


def start_backend(tmp: Path) -> tuple[subprocess.Popen, str]:
    """``backend serve`` on a free port, once it answers ``/health`` (at most 20 s)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "main.py", "backend", "serve", "--port", str(port), "--db",
                               str(tmp / "backend.db"), "--kiosk-token", TOKEN], cwd=ROOT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=0.5).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    server.wait(5)
    raise SystemExit("the backend did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per client and phase (default 500)")
    parser.add_argument("--max-seconds", type=float, default=30, help="time limit per client and phase")
    args = parser.parse_args()
    print(f"{platform.node()}: {multiprocessing.cpu_count()} CPU, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_backend(Path(tmp))
        try:
            with multiprocessing.get_context("spawn").Pool(CLIENTS) as pool:
                workers = list(range(CLIENTS))
                pool.starmap(health_client, [(url, w, 1, args.max_seconds) for w in workers])  # start the pool
                health = run(pool, health_client, url, workers, args.requests, args.max_seconds, server.pid)
                show(f"baseline, GET /health, {CLIENTS} clients", "requests", *health)
                latencies, wall, cpu = run(pool, lookup_client, url, workers, args.requests, args.max_seconds,
                                           server.pid)
                show(f"look-ups, GET /api/dossiers/CODE, {CLIENTS} clients", "look-ups", latencies, wall, cpu)
            rate = len(latencies) / wall
            p99 = statistics.quantiles(latencies, n=100)[98]
            print(f"  = {rate / (len(health[0]) / health[1]):.0%} of the /health rate; server CPU per look-up "
                  f"{cpu / len(latencies) / (health[2] / len(health[0])):.1f}× that of /health")
            print(f"  goal >= 1,000 look-ups/s and p99 <= 50 ms: "
                  f"{'met' if rate >= 1000 and p99 <= 0.050 else 'MISSED'}")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
