"""systemd notifications: READY when the first frame is up, WATCHDOG pings fed from the UI loop.

The pings come from the Kivy clock, not a helper thread, so a frozen UI stops them and systemd restarts the
kiosk after ``WatchdogSec``. Speaks the sd_notify datagram protocol directly (no extra dependency); without
``NOTIFY_SOCKET`` (development, tests) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable


class Watchdog:
    def __init__(self, *, min_interval_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._address = os.environ.get("NOTIFY_SOCKET", "")
        if self._address.startswith("@"):  # abstract socket namespace
            self._address = "\0" + self._address[1:]
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._last = float("-inf")

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, message: str) -> None:
        if not self._address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message.encode(), self._address)
            except OSError:
                pass  # systemd gone (shutting down): nothing useful to do

    def ready(self) -> None:
        self.notify("READY=1")

    def feed(self) -> None:
        """Call on every UI tick; sends at most one ping per ``min_interval_s``."""
        now = self._clock()
        if now - self._last >= self._min_interval_s:
            self._last = now
            self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")
