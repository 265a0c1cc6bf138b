"""Widgets die on the UI thread: while the kiosk runs, a worker thread's allocations never collect a widget a screen
let go, so Kivy unbinds its kv rules before any property change on the UI thread can reach them
(screens/ui_gc.py; bench/gc_race.py shows the crash CPython's automatic collection allows)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading
import weakref

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.ui


def test_a_dropped_widget_survives_a_workers_allocations_and_dies_at_a_frame_on_the_ui_thread(kiosk):
    from screens.theme import HIGH_CONTRAST, STANDARD
    from screens.widgets import Tile

    collecting_threads: list[int] = []

    def record(phase: str, _info: dict) -> None:
        if phase == "start":
            collecting_threads.append(threading.get_ident())

    gc.callbacks.append(record)
    try:
        assert not gc.isenabled()
        tile = Tile(title="probe")                  # its kv rules bind app.theme
        tile.itself = tile                          # only the cyclic collector can free it, as a screen's widgets
        gone = weakref.ref(tile)
        del tile

        def allocate() -> None:                     # far past every collection threshold
            for _ in range(200_000):
                cycle: list = []
                cycle.append(cycle)

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join(timeout=60)
        assert gone() is not None and collecting_threads == []

        kiosk.until(lambda: gone() is None, "the dropped widget collected at a frame")
        for theme in (HIGH_CONTRAST, STANDARD):     # what crashed the soak: the theme reset after a session
            kiosk.app.theme = theme
            kiosk.frames(1)
        assert set(collecting_threads) == {threading.main_thread().ident}
    finally:
        gc.callbacks.remove(record)


def test_the_oldest_generation_is_collected_at_most_every_thirty_seconds(kiosk, monkeypatch):
    from screens import ui_gc

    now = [1_000_000.0]
    monkeypatch.setattr(ui_gc, "clock", lambda: now[0])

    def frames(count: int) -> int:
        """Full passes over ``count`` frames that each leave 300 objects of garbage."""
        before = gc.get_stats()[2]["collections"]
        for _ in range(count):
            for _ in range(300):
                cycle: list = []
                cycle.append(cycle)
            ui_gc.collect_due()
        return gc.get_stats()[2]["collections"] - before

    assert frames(6_000) == 1                       # the first one due; thresholds alone pass several times
    assert frames(6_000) == 0                       # within the same 30 s
    now[0] += ui_gc.FULL_EVERY_S
    assert frames(3_000) == 1


def test_the_race_bench_runs_as_documented_and_the_ui_thread_mode_frees_every_widget_without_error():
    result = subprocess.run([sys.executable, "bench/gc_race.py", "--seconds", "2"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    automatic, ui_only = json.loads(result.stdout)
    assert automatic["collection"].startswith("automatic") and automatic["widgets_built"] > 0
    assert ui_only["reference_error"] is None and ui_only["widgets_built"] > 0 and ui_only["widgets_alive_at_end"] == 0
