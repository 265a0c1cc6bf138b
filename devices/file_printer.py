"""``file:PATH`` printer: each job's raw ESC/POS bytes replace the contents of PATH.

Useful to capture exactly what a real printer would receive (``--set printer.connection=file:out/ticket.bin``)
and to print through a character device such as ``/dev/usb/lp0``, which is written to, not truncated.
"""

from __future__ import annotations

import os
from pathlib import Path

from devices.errors import DeviceNotFound
from devices.printer import PrinterStatus


class FilePrinter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"file:{path}"

    def status(self) -> PrinterStatus:
        return PrinterStatus.OK if self.path.parent.is_dir() else PrinterStatus.OFFLINE

    def send(self, job: bytes) -> None:
        try:
            if self.path.is_char_device():
                with self.path.open("wb", buffering=0) as fh:
                    fh.write(job)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_bytes(job)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise DeviceNotFound(f"cannot write {self.path}: {exc.strerror}") from exc

    def close(self) -> None:
        """Files are opened per job; nothing stays open."""
