"""Real touches through Kivy's input providers, and the flip of the first frame that shows what a touch did.

Used by ``bench/ui_latency.py`` in its child processes. Import it only once Kivy is prepared
(``screens.kivy_env.prepare_kivy``): Kivy reads its settings when first imported.

A touch goes in the way a touch screen's goes in: a :class:`TouchScreen` provider is polled by the event loop
each frame (as SDL's or mtdev's is) and hands over :class:`BenchTouch` events, which Kivy scales to the window and
dispatches to the widgets. The clock stops in ``Window.flip`` — after the buffers are swapped and ``glFinish``
returned, so the frame is rasterized, not only queued (software GL otherwise finishes it during the next frame's
first texture upload) — on the first frame for which the expected state holds; every state change made before a
frame's drawing is in that frame.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from kivy.base import EventLoop
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.graphics.opengl import glFinish
from kivy.input.motionevent import MotionEvent
from kivy.input.provider import MotionEventProvider

from tests.support import eventually
from tests.ui.driver import runqueue_s

_ids = itertools.count(1)


class BenchTouch(MotionEvent):
    """A finger at window pixel (x, y), as a touch screen's provider reports it (normalised 0–1 coordinates)."""

    def __init__(self, x: float, y: float) -> None:
        super().__init__("bench", next(_ids), {"x": x / Window.width, "y": y / Window.height},
                         is_touch=True, type_id="touch")

    def depack(self, args: dict[str, float]) -> None:
        self.sx, self.sy = args["x"], args["y"]
        self.profile = ["pos"]
        super().depack(args)


class TouchScreen(MotionEventProvider):
    """An input provider whose hardware is a queue: the event loop reads it at the start of each frame."""

    def __init__(self) -> None:
        super().__init__("bench", None)
        self._events: deque[tuple[str, BenchTouch]] = deque()

    def put(self, etype: str, touch: BenchTouch) -> None:
        self._events.append((etype, touch))

    def update(self, dispatch_fn: Callable[[str, MotionEvent], None]) -> None:
        while self._events:
            dispatch_fn(*self._events.popleft())


def label_shows(label: Any, text: str | None = None) -> bool:
    """The label's texture is up to date (no re-render pending), with ``text`` if given: what a frame draws."""
    return (text is None or label.text == text) and not label._trigger_texture.is_triggered


class FrameWatch:
    """Times each turn of the event loop and notes when the first frame showing an expected state is flipped.

    A frame's time is the loop's UI-thread work: the wall time of ``EventLoop.idle`` less the clock's pacing sleep
    (60 frames a second) and, in the second figure, less the time the thread waited for a CPU
    (``/proc/…/schedstat``), so a machine busy with other work does not count against the kiosk. The third figure
    leaves out drawing too (``on_draw`` and the flip, less their CPU wait): the callbacks, touch handling and
    layout of the turn, where a UI thread that waited for a socket or a device would show.
    """

    def __init__(self) -> None:
        self.frames: list[tuple[float, float, float]] = []  # ms: work, less CPU wait, less drawing as well
        self.recording = False
        self.shown_at: float | None = None
        self._expect: Callable[[], bool] | None = None
        self._paced = self._paced_wait = self._drawn = 0.0
        idle, pace, flip, draw = EventLoop.idle, Clock.idle, Window.flip, Window.on_draw

        def timed_idle() -> Any:
            self._paced = self._paced_wait = self._drawn = 0.0
            started, waited = time.perf_counter(), runqueue_s()
            try:
                return idle()
            finally:
                if self.recording:
                    work = time.perf_counter() - started - self._paced
                    cpu_wait = runqueue_s() - waited - self._paced_wait
                    self.frames.append((work * 1000, (work - cpu_wait) * 1000, (work - cpu_wait - self._drawn) * 1000))

        def drawing(step: Callable[[], Any]) -> Any:
            started, waited = time.perf_counter(), runqueue_s()
            try:
                return step()
            finally:
                self._drawn += time.perf_counter() - started - (runqueue_s() - waited)

        def timed_pace() -> Any:
            started, waited = time.perf_counter(), runqueue_s()
            try:
                return pace()
            finally:
                self._paced += time.perf_counter() - started
                self._paced_wait += runqueue_s() - waited

        def flip_then_look() -> None:
            drawing(lambda: (flip(), glFinish()))
            if self._expect is not None and self._expect():
                self.shown_at, self._expect = time.perf_counter(), None

        EventLoop.idle, Clock.idle, Window.flip = timed_idle, timed_pace, flip_then_look
        Window.on_draw = lambda: drawing(draw)  # dispatch("on_draw") looks the handler up on the instance

    def expect(self, shows: Callable[[], bool]) -> None:
        self.shown_at, self._expect = None, shows


class Toucher:
    """Taps widgets through :class:`TouchScreen` and times each touch's release to the frame that shows its result."""

    def __init__(self) -> None:
        self.screen = TouchScreen()
        EventLoop.add_input_provider(self.screen)
        self.watch = FrameWatch()
        self.samples: dict[str, list[float]] = {}

    @staticmethod
    def frames(count: int = 1) -> None:
        for _ in range(count):
            EventLoop.idle()

    def tap(self, widget: Any, shows: Callable[[], bool] | None = None, path: str = "") -> None:
        """Press ``widget`` for one frame and let go; with ``shows``, draw frames until a flipped frame shows the
        result, and with ``path`` too, record release → that flip in milliseconds."""
        x, y = widget.to_window(*widget.center)
        touch = BenchTouch(x, y)
        self.screen.put("begin", touch)
        self.frames(1)
        self.screen.put("end", touch)
        released = time.perf_counter()
        if shows is None:
            self.frames(2)
            return
        self.watch.expect(shows)
        eventually(lambda: self.watch.shown_at is not None, between=self.frames,
                   message=f"a frame showing the result of {path or 'a touch'}")
        if path:
            self.samples.setdefault(path, []).append((self.watch.shown_at - released) * 1000)
