"""The printer interface every driver implements, and its status values.

A driver only moves bytes and reports status; ESC/POS layout happens before (``devices.escpos``), queueing and
retries after (``kiosk.printing``). ``send`` raises a :mod:`devices.errors` exception when the job did not
reach paper, so the caller can keep the job and offer a reprint.
"""

from __future__ import annotations

from enum import Enum
from typing import Protocol


class PrinterStatus(str, Enum):
    OK = "ok"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNKNOWN = "unknown"

    @property
    def can_print(self) -> bool:
        return self in (PrinterStatus.OK, PrinterStatus.PAPER_LOW)


class Printer(Protocol):
    name: str

    def send(self, job: bytes) -> None:
        """Deliver one complete ESC/POS job or raise a ``DeviceError``."""

    def status(self) -> PrinterStatus:
        """Current state; never raises (an unreachable printer is ``OFFLINE``)."""

    def close(self) -> None: ...
