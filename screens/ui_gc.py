"""Garbage is collected on the UI thread only.

Kivy unbinds a widget's kv rules in a weak-reference callback that runs when the widget is collected. CPython's
automatic collection runs on whichever thread happens to allocate, and it clears the weak references of all the
garbage first and runs their callbacks after, so the GIL can pass to another thread in between. When a worker
thread (the printer's, an HTTP client's, the scanner's) collects widgets a screen let go, the UI thread may change
a property in that gap (the theme reset at the end of a session) and reach a kv rule of a widget that is gone:
Kivy's ``ReferenceError`` ends the event loop. The soak met it once in 5,750 sessions; ``bench/gc_race.py`` meets
it within seconds. The kiosk therefore turns automatic collection off and collects at each frame on the UI thread,
by CPython's own thresholds, so widgets die where Kivy expects them to.
"""

from __future__ import annotations

import gc
import time

from kivy.clock import Clock

FULL_EVERY_S = 30.0  # the oldest generation at most this often: a full pass over the kiosk's objects costs ~80 ms
clock = time.monotonic

_each_frame = None
_last_full = float("-inf")


def collect_on_ui_thread() -> None:
    """From now on, garbage is collected only by :func:`collect_due` at each frame (calling twice is harmless)."""
    global _each_frame
    gc.disable()
    if _each_frame is None:
        _each_frame = Clock.schedule_interval(lambda _dt: collect_due(), 0)


def collect_anywhere() -> None:
    """Back to CPython's automatic collection (tests, a process that goes on without the app)."""
    global _each_frame
    if _each_frame is not None:
        _each_frame.cancel()
        _each_frame = None
    gc.enable()


def collect_due() -> int:
    """Collect the generation CPython would collect now, if any; the number of objects found unreachable.

    The oldest generation waits until :data:`FULL_EVERY_S` passed since its last collection: CPython waits until it
    grew by a quarter, which it counts as it goes, but Python can only count it with a pass over all its objects."""
    global _last_full
    counts, thresholds = gc.get_count(), gc.get_threshold()
    if counts[0] <= thresholds[0]:
        return 0
    if counts[2] > thresholds[2] and clock() - _last_full >= FULL_EVERY_S:
        _last_full = clock()
        return gc.collect(2)
    return gc.collect(1 if counts[1] > thresholds[1] else 0)
