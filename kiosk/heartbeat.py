"""Fleet heartbeats: the kiosk tells the backend every few seconds that it is alive and how its devices are.

::

    POST /api/fleet/heartbeat   {"kiosk_id", "interval_s", "branch", "group", "app_version", "content_version",
                                 "printer": ok|paper_low|paper_out|offline|error, "scanner", "outbox_depth",
                                 "queue": {"waiting", "open_services", "services"}, "uptime_s", "last_error",
                                 "doctor": [{"check", "ok", "detail"}], "log_tail": [≤ 50 lines]}

:class:`Heartbeat` posts on its own thread every ``interval_s`` (± 10 %, so kiosks that booted together after a
power cut do not beat in lockstep) and backs off up to :data:`MAX_BACKOFF_S` while the backend is away. It never
raises into the kiosk: a heartbeat that fails is only a missed heartbeat, which the dashboard shows as silence.
:class:`StatusCollector` builds the body from a running core. Everything text-like that leaves the kiosk goes
through :func:`scrub` first, so a CCCD number or a phone number that slipped into a log line stays on the kiosk.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx

from config.schema import KioskConfig
from contracts.fleet import LOG_LINE_CHARS, LOG_TAIL_LINES, short
from kiosk import tls
from kiosk.content.apply import content_store
from kiosk.doctor import CHECKS, Check, check_printer

log = logging.getLogger(__name__)
JITTER = 0.1
MAX_BACKOFF_S = 300.0
LOG_TAIL_BYTES = 64 * 1024
DOCTOR_EVERY_S = 600.0
# The printer check opens the printer, which the running kiosk holds; its state comes from device_status instead.
HEARTBEAT_CHECKS = tuple(check for check in CHECKS if check is not check_printer)
PRINTER_STATES = ("ok", "paper_low", "paper_out", "offline")  # any other device status is reported as "error"



def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a log file, scrubbed and cut to :data:`LOG_LINE_CHARS`; [] when there is none."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - LOG_TAIL_BYTES))
            data = fh.read(LOG_TAIL_BYTES)
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    if size > LOG_TAIL_BYTES and text:
        text = text[1:]  # the first line was cut by the seek
    return [short(line, LOG_LINE_CHARS) for line in text if line.strip()][-lines:]


class CoreLike(Protocol):
    """What the collector reads from :class:`kiosk.core.KioskCore`."""

    config: KioskConfig
    last_error: str | None
    outbox: Any
    queue: Any

    def device_status(self) -> dict[str, str]: ...


def _queue_figures(core: CoreLike) -> dict[str, int] | None:
    try:
        services = core.queue.services()
    except Exception:  # noqa: BLE001 — a branch queue server that is away only leaves the figures out
        return None
    return {"waiting": sum(s.waiting for s in services), "open_services": sum(bool(s.open_now) for s in services),
            "services": len(services)}


def collect_status(core: CoreLike, *, uptime_s: float, doctor: list[Check], log_lines: list[str]) -> dict[str, Any]:
    """The heartbeat body (without ``kiosk_id`` and ``interval_s``, which :class:`Heartbeat` adds)."""
    from kiosk.core import VERSION  # here, not at the top: the core owns the heartbeat and imports this module

    config = core.config
    devices = core.device_status()
    printer = devices.get("printer", "")
    return {
        "branch": config.branch.unit or config.branch.name,
        "group": config.content.group,
        "app_version": VERSION,
        "content_version": content_store(config).current_version(),
        "printer": printer if printer in PRINTER_STATES else "error",
        "scanner": devices.get("scanner", "offline"),
        "outbox_depth": len(core.outbox.items("pending")),
        "queue": _queue_figures(core),
        "uptime_s": round(uptime_s, 1),
        "last_error": short(core.last_error) if core.last_error else None,
        "doctor": [{"check": check.name[:40], "ok": check.ok, "detail": short(check.detail)} for check in doctor],
        "log_tail": log_lines,
    }


def _run_checks(config: KioskConfig) -> list[Check]:
    results = []
    for check in HEARTBEAT_CHECKS:
        try:
            results.append(check(config))
        except Exception as exc:  # noqa: BLE001 — a crashing check is a failed check, not a lost heartbeat
            results.append(Check(check.__name__.removeprefix("check_"), False, f"check failed: {type(exc).__name__}"))
    return results


class StatusCollector:
    """``collect`` for :class:`Heartbeat`: cheap figures on every beat, the doctor's checks every ten minutes."""

    def __init__(self, core: CoreLike, *, doctor_every_s: float = DOCTOR_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._core = core
        self._clock = clock
        self._started = clock()
        self._doctor_every_s = doctor_every_s
        self._doctor: list[Check] = []
        self._doctor_at: float | None = None
        self.log_path = core.config.data_dir / "logs" / "kiosk.log"

    def __call__(self) -> dict[str, Any]:
        now = self._clock()
        if self._doctor_at is None or now - self._doctor_at >= self._doctor_every_s:
            self._doctor, self._doctor_at = _run_checks(self._core.config), now
        return collect_status(self._core, uptime_s=now - self._started, doctor=self._doctor,
                              log_lines=read_log_tail(self.log_path))


class Heartbeat:
    """Posts ``collect()`` plus the kiosk id and interval to the backend on a daemon thread.

    :param client_url: the backend's base URL; ``token`` is this kiosk's bearer token.
    :param collect: builds the body on the heartbeat thread; if it raises, that beat is skipped.
    """

    def __init__(self, client_url: str, token: str, kiosk_id: str, interval_s: float,
                 collect: Callable[[], dict[str, Any]], *, transport: httpx.BaseTransport | None = None,
                 rng: random.Random | None = None) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.kiosk_id = kiosk_id
        self.interval_s = interval_s
        self._collect = collect
        self._rng = rng or random.Random()
        self._http = tls.client(base_url=client_url, headers={"Authorization": f"Bearer {token}"},
                                  timeout=httpx.Timeout(min(5.0, max(1.0, interval_s))), transport=transport)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.sent = 0

    def beat(self) -> bool:
        """Collect and post one heartbeat; True when the backend accepted it. Never raises."""
        try:
            body = {**self._collect(), "kiosk_id": self.kiosk_id, "interval_s": self.interval_s}
        except Exception as exc:  # noqa: BLE001 — a broken collector must not stop the heartbeat thread
            return self._failed(f"collecting the status failed: {type(exc).__name__}")
        try:
            response = self._http.post("/api/fleet/heartbeat", json=body)
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: the client was closed by stop()
            return self._failed(f"backend unreachable: {type(exc).__name__}")
        if response.status_code != 200:
            return self._failed(f"backend answered {response.status_code}: {short(response.text, 120)}")
        if self.failures:
            log.info("heartbeat accepted again after %d failed attempts", self.failures)
        self.failures = 0
        self.sent += 1
        return True

    def _failed(self, reason: str) -> bool:
        if self.failures == 0:  # once per outage: a long outage must not flood the log it would send
            log.warning("heartbeat not delivered: %s", reason)
        self.failures += 1
        return False

    def next_delay(self) -> float:
        """The interval after a success; doubling per failure up to :data:`MAX_BACKOFF_S` (never below it)."""
        base = self.interval_s * 2 ** min(self.failures, 16)
        delay = min(base, max(self.interval_s, MAX_BACKOFF_S))
        return delay * (1 + self._rng.uniform(-JITTER, JITTER))

    def _run(self) -> None:
        # the first beat waits up to a fifth of an interval (at most 1 s): a fleet powered on together spreads out
        if self._stop.wait(self._rng.uniform(0, min(self.interval_s, 5.0) * 2 * JITTER)):
            return
        while not self._stop.is_set():
            self.beat()
            self._stop.wait(self.next_delay())

    def start(self) -> None:
        """Start beating (a second call while running does nothing)."""
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 6.0) -> None:
        """Stop beating for good (the connection is closed); waits up to ``timeout_s`` for a post in flight."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout_s)
        self._http.close()
