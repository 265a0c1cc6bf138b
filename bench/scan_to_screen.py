"""Scan to screen: a code written into a serial pty until the parsed ``scan`` event reaches the app layer.

The path is the kiosk's own: a socat pty pair stands in for a USB-CDC/RS-232 scanner, the kiosk core is built from
config (``scanner.connection = serial:/dev/pts/N?baudrate=115200``, so ``devices.factory.open_scanner`` gives a
``SerialScanner``) and started as the app starts it; the clock runs from the ``write`` on the scanner's end of
the pair until a subscriber to ``KioskCore.events`` "scan" has the parsed payload (pyserial reader thread, CR/LF
framing, debounce, ``parse_payload``, session touch, publish). The Kivy app then re-posts the event onto the UI
thread, which adds up to one frame (≤ 17 ms at 60 fps) and is not measured here.

Baselines in the same run: ``parse_payload`` alone on the same payloads (timed right after each scan), and the
bare pty transfer (write on one end, a plain blocking read of the line on the other, no reader thread). A pty
does not pace bytes at the configured baud rate, so the wire time of a real 115,200-baud scanner
(10 bits per byte) is printed alongside. Each payload differs from the one before (the scanner drops a repeat of
the same code within 2 s). Bounded by ``--rounds`` (one scan of each kind per round) and ``--max-seconds``.
Usage: ``python bench/scan_to_screen.py [--rounds 2000] [--max-seconds 90]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import serial

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.loader import load_config  # noqa: E402
from devices.payloads import build_vietqr, parse_payload  # noqa: E402
from kiosk.cli.embedded import open_backend  # noqa: E402
from kiosk.core import KioskCore  # noqa: E402

BAUD = 115_200
CCCD = "001190012345|123456789|Lê Thị Hoa|12051990|Nữ|Số {n} Hàng Gai, Hoàn Kiếm, Hà Nội|15062021"
KINDS: dict[str, Callable[[int], str]] = {
    "dossier": lambda n: f"000.00.13.H26-251120-{n % 9999 + 1:04d}",
    "cccd": lambda n: CCCD.format(n=n),
    "vietqr": lambda n: build_vietqr("970415", "113000006868", 50_000 + n, f"LP 0000013H26 251120 {n % 9999:04d}"),
}


def open_pty_pair(timeout_s: float = 5.0) -> tuple[subprocess.Popen, str, str]:
    """Start ``socat -d -d pty,raw,echo=0 pty,raw,echo=0`` and read the two /dev/pts names it reports."""
    proc = subprocess.Popen(["socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"], stderr=subprocess.PIPE)
    log = b""
    names: list[str] = []
    deadline = time.monotonic() + timeout_s
    while len(names) < 2 and time.monotonic() < deadline:  # os.read, not readline: select sees only the fd
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if not ready:
            continue
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        log += chunk
        names = re.findall(r"PTY is (\S+)", log.decode(errors="replace"))
    if len(names) < 2:
        proc.kill()
        proc.wait(5)
        raise SystemExit("socat did not report a pty pair (is socat installed?)")
    return proc, names[0], names[1]


def quantiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    q = statistics.quantiles(samples, n=100, method="inclusive")  # never beyond the max
    return q[49] * 1000, q[98] * 1000


def bare_pty(ours: str, theirs: str, rounds: int) -> list[float]:
    """Write a line on one end, read it on the other in this thread: the transport alone."""
    samples = []
    with serial.Serial(ours, BAUD, timeout=1) as reader, serial.Serial(theirs, BAUD) as writer:
        for n in range(rounds):
            line = KINDS["dossier"](n).encode() + b"\r\n"
            started = time.perf_counter()
            writer.write(line)
            got = b""
            while not got.endswith(b"\r\n"):
                chunk = reader.read(reader.in_waiting or 1)
                if not chunk:
                    raise SystemExit("bare pty: a line was lost")
                got += chunk
            samples.append(time.perf_counter() - started)
    return samples


def through_core(ours: str, theirs: str, data_dir: Path, rounds: int,
                 max_s: float) -> tuple[dict[str, list[float]], dict[str, list[float]], int]:
    """Scan latencies and parse-only times per kind, and the number of scans that never arrived."""
    config = load_config(None, [f"data_dir={data_dir}", "scanner.kind=serial",
                                f"scanner.connection=serial:{ours}?baudrate={BAUD}"])
    core = KioskCore(config, backend=open_backend)
    arrived: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
    catalogue: queue.Queue[bool] = queue.Queue()
    core.events.subscribe("scan", lambda payload: arrived.put((time.perf_counter(), payload)))
    core.events.subscribe("catalogue", lambda available: catalogue.put(available))
    core.start()
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    parse_only: dict[str, list[float]] = {kind: [] for kind in KINDS}
    lost = 0
    try:
        if not core.scanner.running:
            raise SystemExit(f"the scanner did not start: {core.last_error}")
        catalogue.get(timeout=30)  # the embedded backend is up: its start-up no longer competes for the CPU
        with serial.Serial(theirs, BAUD) as port:
            stop = time.monotonic() + max_s
            for n in range(-5, rounds):  # five warm-up rounds, not recorded
                if time.monotonic() > stop:
                    break
                for kind, make in KINDS.items():
                    raw = make(n + 10_000).encode("utf-8")
                    started = time.perf_counter()
                    port.write(raw + b"\r\n")
                    try:
                        at, payload = arrived.get(timeout=2)
                    except queue.Empty:
                        lost += 1
                        continue
                    if payload["kind"] != kind:
                        raise SystemExit(f"a {kind} scan arrived as {payload['kind']}")
                    t0 = time.perf_counter()
                    parse_payload(raw)
                    parsed = time.perf_counter() - t0
                    if n >= 0:
                        latencies[kind].append(at - started)
                        parse_only[kind].append(parsed)
    finally:
        core.close()
    return latencies, parse_only, lost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000, help="scans of each kind (default 2000)")
    parser.add_argument("--max-seconds", type=float, default=90, help="time limit for the scans")
    args = parser.parse_args()
    print(f"{platform.node()}: Python {platform.python_version()}, pyserial {serial.VERSION}")
    proc, ours, theirs = open_pty_pair()
    try:
        bare = bare_pty(ours, theirs, args.rounds)
        with tempfile.TemporaryDirectory() as tmp:
            latencies, parse_only, lost = through_core(ours, theirs, Path(tmp), args.rounds, args.max_seconds)
    finally:
        proc.terminate()
        proc.wait(5)
    p50, p99 = quantiles(bare)
    print(f"baseline, bare pty transfer of a dossier code (no reader thread, no parsing): "
          f"p50 {p50:.3f} ms, p99 {p99:.3f} ms ({len(bare)} lines)")
    for kind, samples in latencies.items():
        size = len(KINDS[kind](10_000).encode()) + 2
        scan50, scan99 = quantiles(samples)
        parse50, parse99 = quantiles(parse_only[kind])
        print(f"{kind:8s} ({size:3d} bytes, {size * 10 / BAUD * 1000:5.2f} ms on a {BAUD:,}-baud wire): "
              f"scan → event p50 {scan50:.3f} ms, p99 {scan99:.3f} ms; parse alone p50 {parse50:.3f} ms, "
              f"p99 {parse99:.3f} ms; scan − parse p50 {scan50 - parse50:+.3f} ms ({len(samples)} scans)")
    print(f"scans that never arrived: {lost}")


if __name__ == "__main__":
    main()
