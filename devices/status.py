"""Real-time printer status with ``DLE EOT n`` (ESC/POS), read one byte at a time with a short timeout.

Replies (fixed bits 1 and 4 set, so a valid reply matches ``0b0xx1xx10``): n=1 printer status, bit 3 = offline;
n=2 offline cause, bit 2 = cover open, bit 5 = paper-end stop; n=4 paper sensor, bits 2–3 = near end, bits 5–6 =
paper end. A printer that does not answer is *offline*, never "ok" (python-escpos assumes paper is fine when the
printer stays silent, and waits for 16 bytes; we ask for one).

A network or serial printer takes a job into its buffer whether or not it can print it, so a sent job is not a
printed one: :func:`confirm_printable` asks the status on the job's own connection before the job (a printer out of
paper gets nothing, so a reprint later never makes a second ticket) and after it. ``DLE EOT`` is a real-time
command: the printer answers it as soon as it reads it, behind the job's bytes in the stream — so the answer after
the job also proves the printer took the whole job in, and a printer that dropped or stalled is found.
"""

from __future__ import annotations

from collections.abc import Callable

from devices.errors import CoverOpen, DeviceError, DeviceOffline, DeviceTimeout, PaperOut
from devices.printer import PrinterStatus

DLE_EOT = b"\x10\x04"
_CANNOT_PRINT: dict[PrinterStatus, type[DeviceError]] = {
    PrinterStatus.PAPER_OUT: PaperOut, PrinterStatus.COVER_OPEN: CoverOpen, PrinterStatus.OFFLINE: DeviceOffline,
}


def _valid(byte: int) -> bool:
    return byte & 0b10010011 == 0b00010010


def decode_status(online: int | None, cause: int | None, paper: int | None) -> PrinterStatus:
    """Combine the three replies (None = no answer) into one status."""
    if online is None or not _valid(online):
        return PrinterStatus.OFFLINE
    if cause is not None and _valid(cause) and cause & 0x04:
        return PrinterStatus.COVER_OPEN
    if paper is not None and _valid(paper) and paper & 0x60:
        return PrinterStatus.PAPER_OUT
    if cause is not None and _valid(cause) and cause & 0x20:
        return PrinterStatus.PAPER_OUT
    if online & 0x08:
        return PrinterStatus.OFFLINE
    if paper is not None and _valid(paper) and paper & 0x0C:
        return PrinterStatus.PAPER_LOW
    return PrinterStatus.OK


def query_status(exchange: Callable[[bytes], int | None]) -> PrinterStatus:
    """Ask n=1, 2, 4 through ``exchange`` (send a request, return the one reply byte or None)."""
    online = exchange(DLE_EOT + b"\x01")
    if online is None:
        return PrinterStatus.OFFLINE
    return decode_status(online, exchange(DLE_EOT + b"\x02"), exchange(DLE_EOT + b"\x04"))


def confirm_printable(exchange: Callable[[bytes], int | None], name: str, when: str) -> None:
    """Raise the :mod:`devices.errors` exception for a printer that cannot print now (``when``: "before the job",
    "after the job", for the log); ``exchange`` raises ``DeviceOffline`` itself when the connection drops."""
    online = exchange(DLE_EOT + b"\x01")
    if online is None:
        raise DeviceTimeout(f"{name}: no status reply {when}")
    status = decode_status(online, exchange(DLE_EOT + b"\x02"), exchange(DLE_EOT + b"\x04"))
    if not status.can_print:
        raise _CANNOT_PRINT[status](f"{name}: {status.value} {when}")
