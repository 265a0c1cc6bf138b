"""Dossier look-up latency at the app layer: a scanned code until its status arrives as a ``lookup`` event.

The kiosk's own path with the embedded reference backend: ``backend.server.start_in_thread`` (uvicorn on a thread
on 127.0.0.1, seeded with the demo dossiers 000.00.13.H26-251120-0001..0005), a ``BackendClient`` with the
status cache file, and ``LookupFlow`` publishing to a subscriber, as ``KioskCore`` wires them. The clock starts at
the raw scanned bytes (``parse_payload``, then ``LookupFlow.lookup(code)`` as the lookup screen calls it) and
stops when the subscriber has the ``LookupResult``; the serial scanner in front adds ~0.1 ms
(bench/scan_to_screen.py) and the Kivy re-post onto the UI thread up to one frame.

1. online: look-ups of the five demo dossiers in turn, each interleaved with the baseline, a bare ``GET /health``
   round trip on a keep-alive httpx connection to the same server (goal p95 ≤ 300 ms);
2. offline: the cache is warm, then the backend is stopped; the same look-ups answer from the cache (goal
   ≤ 50 ms). The cache read alone is timed too, to separate it from the time spent finding the backend gone.

Bounded by ``--lookups``, ``--offline`` and ``--max-seconds`` per phase.
Usage: ``python bench/lookup_latency.py [--lookups 1000] [--offline 30] [--max-seconds 60]``.
"""

from __future__ import annotations

import argparse
import platform
import queue
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.server import start_in_thread  # noqa: E402
from devices.payloads import parse_payload  # noqa: E402
from kiosk.backend_client import BackendClient  # noqa: E402
from kiosk.lookup_flow import LookupFlow, LookupResult  # noqa: E402

CODES = [f"000.00.13.H26-251120-{n:04d}" for n in range(1, 6)]
EVENT_TIMEOUT_S = 10.0


class Screen:
    """Stands in for the lookup screen: starts look-ups from scanned bytes, receives ``lookup`` events."""

    def __init__(self, client: BackendClient) -> None:
        self._results: queue.Queue[tuple[float, LookupResult]] = queue.Queue()
        self.flow = LookupFlow(lambda: client, self._publish)

    def _publish(self, name: str, result: LookupResult) -> None:
        self._results.put((time.perf_counter(), result))

    def scan(self, raw: bytes) -> tuple[float, LookupResult]:
        """Seconds from the scanned bytes to the published result, and that result."""
        started = time.perf_counter()
        self.flow.lookup(parse_payload(raw)["code"])
        at, result = self._results.get(timeout=EVENT_TIMEOUT_S)
        return at - started, result


def summary(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100, method="inclusive")  # never beyond the max
    return f"p50 {q[49] * 1000:.2f} ms, p95 {q[94] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms, " \
           f"max {max(samples) * 1000:.2f} ms ({len(samples)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=1000, help="online look-ups (default 1000)")
    parser.add_argument("--offline", type=int, default=30, help="look-ups with the backend stopped (default 30)")
    parser.add_argument("--max-seconds", type=float, default=60, help="time limit per phase")
    args = parser.parse_args()
    print(f"{platform.node()}: Python {platform.python_version()}, httpx {httpx.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        backend = start_in_thread(Path(tmp) / "backend.db")
        client = BackendClient(backend.url, backend.token, cache_path=Path(tmp) / "status-cache.db")
        screen = Screen(client)
        health, online, outcomes = [], [], Counter()
        with httpx.Client(base_url=backend.url, timeout=5) as bare:
            for code in CODES:  # warm-up: connections, first queries, and the cache for the offline phase
                bare.get("/health")
                screen.scan(code.encode())
            stop = time.monotonic() + args.max_seconds
            for n in range(args.lookups):
                if time.monotonic() > stop:
                    break
                started = time.perf_counter()
                if bare.get("/health").status_code != 200:
                    raise SystemExit("GET /health failed")
                health.append(time.perf_counter() - started)
                elapsed, result = screen.scan(CODES[n % len(CODES)].encode())
                outcomes[result.outcome] += 1
                online.append(elapsed)
        print(f"baseline, bare GET /health round trip (keep-alive): {summary(health)}")
        p95 = statistics.quantiles(online, n=100, method="inclusive")[94]
        print(f"online, scan → status event: {summary(online)}; outcomes {dict(outcomes)}")
        print(f"  p50 = {statistics.median(online) / statistics.median(health):.1f}× the /health round trip; "
              f"goal p95 <= 300 ms: {'met' if p95 <= 0.300 else 'MISSED'}")

        backend.stop()
        cache_reads, offline, outcomes = [], [], Counter()
        stop = time.monotonic() + args.max_seconds
        for n in range(args.offline):
            if time.monotonic() > stop:
                break
            code = CODES[n % len(CODES)]
            started = time.perf_counter()
            client.cached_status(code)
            cache_reads.append(time.perf_counter() - started)
            elapsed, result = screen.scan(code.encode())
            outcomes[result.outcome] += 1
            offline.append(elapsed)
        client.close()
    print(f"offline, cache read alone: {summary(cache_reads)}")
    print(f"offline, scan → cached status event: {summary(offline)}; outcomes {dict(outcomes)}")
    print(f"  goal <= 50 ms: {'met' if max(offline) <= 0.050 else 'MISSED'}")


if __name__ == "__main__":
    main()
