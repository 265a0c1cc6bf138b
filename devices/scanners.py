"""Serial QR scanners (USB-CDC or RS-232): CR/LF-terminated codes read on a pyserial reader thread.

Codes are capped in size, repeated reads of the same code within ``debounce_s`` are dropped (a QR held under the
reader is read many times a second), and the raw bytes are handed over undecoded — parsing copes with anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import serial
from serial.threaded import LineReader, ReaderThread

from devices.sim.scanner import MAX_PAYLOAD

log = logging.getLogger(__name__)

class _Lines(LineReader):
    TERMINATOR = b"\r"

    def __init__(self, deliver: Callable[[bytes], None]) -> None:
        super().__init__()
        self._deliver = deliver

    def data_received(self, data: bytes) -> None:
        # CR, LF and CRLF all end a code: normalise LF to CR, then let LineReader split
        super().data_received(data.replace(b"\r\n", b"\r").replace(b"\n", b"\r"))
        if len(self.buffer) > MAX_PAYLOAD:  # a scanner that never sends a terminator: flush what we have
            self.handle_packet(bytes(self.buffer[:MAX_PAYLOAD]))
            del self.buffer[:]

    def handle_packet(self, packet: bytes) -> None:
        if packet.strip(b"\x00 "):
            self._deliver(bytes(packet[:MAX_PAYLOAD]))


class Debouncer:
    """Shared by every scanner driver: a code equal to the previous one within ``window_s`` is a repeat read."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s, self._clock = window_s, clock
        self._last: tuple[bytes, float] | None = None
        self._lock = threading.Lock()

    def fresh(self, code: bytes) -> bool:
        """True when ``code`` should be delivered (and remembered as the last one)."""
        now = self._clock()
        with self._lock:
            if self._last and self._last[0] == code and now - self._last[1] < self._window_s:
                return False
            self._last = (code, now)
        return True


class ProblemLog:
    """Shared by the drivers that reconnect on their own: ``problem`` says why the scanner is not delivering (for
    technicians), and only its changes are logged, not every retry."""

    name: str
    problem: str | None = None
    RECOVERED = "connected"

    def _set_problem(self, problem: str | None) -> None:
        if problem != self.problem:
            if problem:
                log.warning("%s", problem)
            else:
                log.info("%s: %s", self.name, self.RECOVERED)
        self.problem = problem


class SerialScanner:
    def __init__(self, device: str, *, baudrate: int = 9600, debounce_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = f"serial:{device}"
        self._device, self._baudrate = device, baudrate
        self._debounce = Debouncer(debounce_s, clock)
        self._reader: ReaderThread | None = None

    @property
    def running(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def start(self, on_payload: Callable[[bytes], None]) -> None:
        def deliver(code: bytes) -> None:
            if self._debounce.fresh(code):
                on_payload(code)

        try:
            port = serial.serial_for_url(self._device, baudrate=self._baudrate, timeout=1)
        except (serial.SerialException, ValueError) as exc:
            raise OSError(f"{self._device}: {exc}") from exc
        self._reader = ReaderThread(port, lambda: _Lines(deliver))
        self._reader.start()
        self._reader._connection_made.wait(2)  # noqa: SLF001 — pyserial's documented start-up handshake

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class UnavailableScanner:
    """A configured scanner kind this installation cannot drive; ``start`` says why (shown to technicians)."""

    running = False

    def __init__(self, reason: str) -> None:
        self.name = "unavailable"
        self._reason = reason

    def start(self, _on_payload: Callable[[bytes], None]) -> None:
        raise OSError(self._reason)

    def stop(self) -> None:
        """Nothing was started."""
