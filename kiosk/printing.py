"""The print queue: jobs go to the printer on one worker thread, in order, and never block the caller.

A slow or stuck printer only delays the jobs behind it; the UI gets each job's outcome through its ``done``
callback (called on the worker thread — the app re-posts it to the UI thread). A failed job is not retried
here: the ticket stays on screen and the citizen (or a technician) asks for a reprint once the printer is back.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from devices.errors import DeviceError, DeviceOffline
from devices.printer import Printer

log = logging.getLogger(__name__)
Done = Callable[[DeviceError | None], None]
_STOP = object()


class PrintQueue:
    def __init__(self, printer: Printer, on_error: Callable[[DeviceError], None] | None = None) -> None:
        self.printer = printer
        self._on_error = on_error
        self._jobs: queue.Queue = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="print-queue", daemon=True)
        self._worker.start()

    def submit(self, job: bytes, done: Done) -> None:
        self._jobs.put((job, done))

    def pending(self) -> int:
        return self._jobs.qsize()

    def _run(self) -> None:
        while (item := self._jobs.get()) is not _STOP:
            job, done = item
            error: DeviceError | None = None
            try:
                self.printer.send(job)
            except DeviceError as exc:
                error = exc
            except OSError as exc:  # a driver that leaked a raw I/O error: still the printer's fault
                error = DeviceOffline(str(exc))
            if error is not None:
                log.warning("print job failed: %s (%s)", error.status, error)
                if self._on_error:
                    self._on_error(error)
            try:
                done(error)
            except Exception:  # noqa: BLE001 — a faulty callback must not kill the only print worker
                log.exception("print job callback failed")

    def close(self, timeout: float = 2.0) -> None:
        self._jobs.put(_STOP)
        self._worker.join(timeout)
