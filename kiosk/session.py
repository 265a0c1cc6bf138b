"""One citizen's session: the personal data they entered and the idle timer that wipes it.

A kiosk is shared by strangers. Whatever one citizen typed or scanned (CCCD fields, phone numbers, form
answers) lives only in :attr:`Session.data` and is wiped the moment they finish or walk away: after
``warning_s`` without a touch the UI asks "Bạn có cần thêm thời gian?" and counts down ``reset_s``; at zero the
session expires, the data is wiped and listeners (screens) reset themselves. Time comes from an injected
monotonic clock, so an NTP jump of the wall clock never fires or delays a reset, and tests move time directly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from enum import Enum
from typing import Any


class IdleState(str, Enum):
    IDLE = "idle"  # nobody is using the kiosk (home screen): nothing to time out
    ACTIVE = "active"
    WARNING = "warning"


class Session:
    def __init__(self, warning_s: float, reset_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.warning_s = warning_s
        self.reset_s = reset_s
        self._clock = clock
        self._last_touch = clock()
        self._started = False
        self.data: dict[str, Any] = {}
        self._on_wipe: list[Callable[[], None]] = []

    def on_wipe(self, callback: Callable[[], None]) -> None:
        """Register a callback run after every wipe (screens clear their widgets there)."""
        self._on_wipe.append(callback)

    def start(self) -> None:
        """A citizen left the home screen: from now on inactivity counts."""
        self._started = True
        self._last_touch = self._clock()

    def touch(self) -> None:
        """Any touch, key or scan: the citizen is still here (also dismisses the warning)."""
        self._last_touch = self._clock()

    @property
    def state(self) -> IdleState:
        if not self._started:
            return IdleState.IDLE
        idle = self._clock() - self._last_touch
        return IdleState.ACTIVE if idle < self.warning_s else IdleState.WARNING

    def seconds_left(self) -> int:
        """Whole seconds until the session expires (shown in the warning's countdown)."""
        idle = self._clock() - self._last_touch
        return max(0, math.ceil(self.warning_s + self.reset_s - idle))

    def expired(self) -> bool:
        return self._started and self.seconds_left() == 0

    def end(self) -> None:
        """Finish the session: wipe personal data and stop the idle timer."""
        self._started = False
        self.data.clear()
        for callback in self._on_wipe:
            callback()
