"""A printer on the other end of a wire: stores what it receives and answers ``DLE EOT`` like real firmware.

Used by tests and by technicians without hardware: serve it on a TCP port (``TcpPrinterSimulator``) or on one end
of a serial pty pair (``serve_stream`` on a pyserial port). ``state`` is one of ``ok``, ``paper_low``,
``paper_out``, ``cover_open``, ``silent`` (never answers status queries, like a printer that is off), ``drop``
(closes the connection on the next bytes, like a printer that resets). Like real firmware, ``DLE EOT`` is answered
as soon as it is read, in the order of the stream, even when the printer cannot print.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable

REPLIES = {  # DLE EOT n=1 (printer), n=2 (offline cause), n=4 (paper sensor)
    "ok": {1: 0x12, 2: 0x12, 4: 0x12},
    "paper_low": {1: 0x12, 2: 0x12, 4: 0x1E},
    "paper_out": {1: 0x1A, 2: 0x32, 4: 0x7E},
    "cover_open": {1: 0x1A, 2: 0x16, 4: 0x12},
}


class PrinterCore:
    """Protocol logic shared by every transport: split out status queries, keep the rest as printed bytes."""

    def __init__(self, state: str = "ok") -> None:
        self.state = state
        self.received = bytearray()
        self.lock = threading.Lock()
        self._pending = b""

    def feed(self, data: bytes, reply: Callable[[bytes], None]) -> None:
        data = self._pending + data
        self._pending = b""
        out = bytearray()
        i = 0
        while i < len(data):
            if data[i : i + 2] == b"\x10\x04":
                if i + 2 >= len(data):
                    self._pending = data[i:]
                    break
                answer = REPLIES.get(self.state, {}).get(data[i + 2])
                if answer is not None:
                    reply(bytes([answer]))
                i += 3
                continue
            out.append(data[i])
            i += 1
        with self.lock:
            self.received += out


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        core: PrinterCore = self.server.core  # type: ignore[attr-defined]
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a status byte goes out at once
        while chunk := self.request.recv(4096):
            core.feed(chunk, self.request.sendall)
            if core.state == "drop":
                return


class TcpPrinterSimulator(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state: str = "ok") -> None:
        super().__init__((host, port), _Handler)
        self.core = PrinterCore(state)
        threading.Thread(target=self.serve_forever, name="printer-sim", daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def serve_stream(port, core: PrinterCore, stop: threading.Event) -> None:
    """Serve the core on an open pyserial port until ``stop`` is set (run it on a thread)."""
    port.timeout = 0.05
    while not stop.is_set():
        chunk = port.read(4096)
        if chunk:
            core.feed(chunk, port.write)
