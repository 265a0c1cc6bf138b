"""A scanner simulator: payloads arrive over a local TCP socket, one payload per connection.

``python main.py devices scan-sim PAYLOAD`` (or ``-`` for raw stdin bytes) connects, sends the bytes and closes,
exactly as if a citizen had held a QR code under the reader. One payload per connection (not per line) lets a
test send anything a real scanner could, NUL bytes and newlines included. Payloads are capped at
``MAX_PAYLOAD`` bytes like the real drivers cap them.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable

MAX_PAYLOAD = 8192


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(2.0)
        chunks: list[bytes] = []
        size = 0
        try:
            while size <= MAX_PAYLOAD:
                chunk = self.request.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError:
            return
        payload = b"".join(chunks)[:MAX_PAYLOAD]
        if payload:
            self.server.on_payload(payload)  # type: ignore[attr-defined]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SimScanner:
    """Listens on ``host:port`` (port 0 picks a free one; see :attr:`address`)."""

    name = "simulator"

    def __init__(self, host: str, port: int) -> None:
        self._bind = (host, port)
        self._server: _Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            return self._bind
        return self._server.server_address[:2]  # type: ignore[return-value]

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, on_payload: Callable[[bytes], None]) -> None:
        self._server = _Server(self._bind, _Handler)
        self._server.on_payload = on_payload  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, name="sim-scanner", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def send_payload(host: str, port: int, payload: bytes, timeout: float = 3.0) -> None:
    """Deliver one payload to a running simulator; raises ``OSError`` when no kiosk listens."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
