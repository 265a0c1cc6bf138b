"""A printer simulator that stands in for a real ESC/POS printer.

It receives exactly the bytes a real printer would and stores each job in the spool folder as
``job-<n>.bin`` plus, when a preview renderer is given, ``job-<n>.png`` — so a fresh checkout shows what would
have come out of the printer. Faults are switched on like a technician would provoke them on a real device,
without code changes: the connection option ``sim:?fault=paper_out`` or the control file ``<spool>/fault``
(one of ``paper_out``, ``paper_low``, ``cover_open``, ``offline``; delete it to recover). The control file lets
another process (a test, ``python main.py devices sim-fault``) flip the state of a running kiosk.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

from devices.errors import CoverOpen, DeviceOffline, PaperOut
from devices.printer import PrinterStatus

FAULTS = {
    "paper_out": PrinterStatus.PAPER_OUT,
    "paper_low": PrinterStatus.PAPER_LOW,
    "cover_open": PrinterStatus.COVER_OPEN,
    "offline": PrinterStatus.OFFLINE,
}
_RAISES = {
    PrinterStatus.PAPER_OUT: PaperOut("paper out"),
    PrinterStatus.COVER_OPEN: CoverOpen("cover open"),
    PrinterStatus.OFFLINE: DeviceOffline("printer offline"),
}


def set_fault(spool_dir: Path, fault: str | None) -> None:
    """Switch a simulated fault on (or off with ``None``) for every simulator using ``spool_dir``."""
    control = spool_dir / "fault"
    if fault is None:
        control.unlink(missing_ok=True)
        return
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; use one of {', '.join(FAULTS)}")
    spool_dir.mkdir(parents=True, exist_ok=True)
    control.write_text(fault)


class SimPrinter:
    name = "simulator"

    def __init__(
        self, spool_dir: Path, *, fault: str | None = None, preview: Callable[[bytes], bytes] | None = None
    ) -> None:
        self.spool_dir = spool_dir
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._fault = fault
        self._preview = preview
        existing = (int(p.stem.split("-")[1]) for p in spool_dir.glob("job-*.bin") if p.stem[4:].isdigit())
        self._numbers = itertools.count(max(existing, default=0) + 1)

    def status(self) -> PrinterStatus:
        try:
            fault = (self.spool_dir / "fault").read_text().strip() or self._fault
        except OSError:
            fault = self._fault
        return FAULTS.get(fault or "", PrinterStatus.OK)

    def send(self, job: bytes) -> None:
        status = self.status()
        if status in _RAISES:
            raise type(_RAISES[status])(str(_RAISES[status]))
        path = self.spool_dir / f"job-{next(self._numbers):06d}.bin"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(job)
        os.replace(tmp, path)  # a reader never sees half a job
        if self._preview is not None:
            path.with_suffix(".png").write_bytes(self._preview(job))

    def jobs(self) -> list[Path]:
        return sorted(self.spool_dir.glob("job-*.bin"))

    def close(self) -> None:
        """Nothing to release; present for the Printer interface."""
