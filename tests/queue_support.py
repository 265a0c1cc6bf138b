"""Shared parts of the queue-engine tests: a wall clock that moves only when told, and two demo services."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

from config.localtime import LOCAL_TZ
from config.services import ServiceDef
from queueing.engine import QueueEngine
from queueing.models import Ticket

TUESDAY_9AM = datetime(2026, 11, 24, 9, 0, tzinfo=LOCAL_TZ)


class WallClock:
    """Aware local time for the engine's injected clock."""

    def __init__(self, start: datetime = TUESDAY_9AM) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def demo_services(**ht: object) -> list[ServiceDef]:
    """HT (A001, counters 1-2) takes overrides; CT (B0001, counter 3) is open around the clock."""
    return [
        ServiceDef(code="HT", name_vi="Hộ tịch", name_en="Civil status", prefix="A", counters=[1, 2],
                   **{"hours": "always", **ht}),
        ServiceDef(code="CT", name_vi="Cư trú", prefix="B", digits=4, counters=[3], hours="always"),
    ]


def open_engine(path: Path, clock: WallClock, **ht: object) -> QueueEngine:
    return QueueEngine(path, demo_services(**ht), clock=clock, max_priority_in_row=2)


_requests = count(1)


def take(engine: QueueEngine, service: str = "HT", priority: str | None = None) -> Ticket:
    """One kiosk tap: a fresh request id each time."""
    return engine.issue(service, request_id=f"tap-{next(_requests)}", priority=priority, kiosk_id="K1")
