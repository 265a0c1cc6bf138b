"""Helpers shared by the tests: wait for a condition, never for a stretch of time.

A fixed ``time.sleep`` is either too short on a loaded machine (the test fails) or too long on a quiet one (the
suite crawls). :func:`eventually` polls a condition until it holds and fails with what it last saw, so a test
waits exactly as long as the machine needs, up to a generous bound that only a real bug reaches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
PATIENCE_S = 30.0  # the bound only a real failure reaches, even with two CPU-bound processes beside the suite


def eventually(condition: Callable[[], T], *, timeout: float = PATIENCE_S, interval: float = 0.01,
               between: Callable[[], None] | None = None, message: str = "") -> T:
    """Poll ``condition`` until it returns something truthy and return that.

    :param between: run between polls instead of sleeping (a UI test lets Kivy draw frames here).
    :raises AssertionError: when ``timeout`` passes first, naming ``message`` and the last value seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message or 'condition'} still false after {timeout:g} s (last: {value!r})")
        if between is not None:
            between()
        else:
            time.sleep(interval)
