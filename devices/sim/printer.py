"""A printer simulator that stands in for a real ESC/POS printer.

It receives exactly the bytes a real printer would and stores each job in the spool folder as
``job-<n>.bin`` plus, when a preview renderer is given, ``job-<n>.png`` — so a fresh checkout shows what would
have come out of the printer. Faults are switched on like a technician would provoke them on a real device,
without code changes: the connection option ``sim:?fault=paper_out`` or the control file ``<spool>/fault``
(one of ``paper_out``, ``paper_low``, ``cover_open``, ``offline``; delete it to recover). The control file lets
another process (a test, ``python main.py devices sim-fault``) flip the state of a running kiosk.

Several processes may print into one spool folder at once (two ``queue take`` runs, a kiosk and a technician's
test print): each job is written to a private temporary file and then hard-linked to the next free
``job-<n>.bin``. A link never replaces an existing file, so a number another process took first is skipped, not
overwritten; the numbers still follow the order the jobs arrived, and a reader never sees half a job.
"""

from __future__ import annotations

import os
import uuid
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
        self._next = self._last_number() + 1

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
        path = self._publish(job)
        if self._preview is not None:
            preview = self._write_private(self._preview(job))
            os.replace(preview, path.with_suffix(".png"))  # the number is this job's own: nobody else writes it

    def jobs(self) -> list[Path]:
        return sorted(self.spool_dir.glob("job-*.bin"))

    def _publish(self, job: bytes) -> Path:
        """Give ``job`` the next free number in the spool folder, whole, and return its path."""
        private = self._write_private(job)
        try:
            while True:
                path = self.spool_dir / f"job-{self._next:06d}.bin"
                try:
                    os.link(private, path)  # fails instead of replacing when another process took the number
                except FileExistsError:
                    self._next = max(self._next, self._last_number()) + 1
                    continue
                self._next += 1
                return path
        finally:
            os.unlink(private)

    def _write_private(self, data: bytes) -> Path:
        """A complete file under a name no other writer uses (hidden, and not matched by ``job-*``)."""
        path = self.spool_dir / f".incoming-{os.getpid()}-{uuid.uuid4().hex}.tmp"
        # O_EXCL with the usual 0o666 (the umask applies), so a job file reads like any file the kiosk writes
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        except OSError:
            path.unlink(missing_ok=True)  # a full disk leaves no half-written leftovers behind
            raise
        return path

    def _last_number(self) -> int:
        numbers = (int(p.stem[4:]) for p in self.spool_dir.glob("job-*.bin") if p.stem[4:].isdigit())
        return max(numbers, default=0)

    def close(self) -> None:
        """Nothing to release; present for the Printer interface."""
