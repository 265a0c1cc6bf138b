"""Drive the real kiosk app with real touches, let frames pass, wait for what the screen shows, take screenshots.

Used by the UI tests (through the ``kiosk`` fixture) and by the fault run (:mod:`tests.ui.fault_run`), which
starts its own app in a child process. Nothing here waits for a stretch of time: the app's clock only runs while
frames are drawn, so a test waits for a condition with frames in between (:meth:`KioskDriver.until`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.support import ARTIFACTS, eventually

SCREENSHOTS = ARTIFACTS / "screens"
T = TypeVar("T")


class KioskDriver:
    """What a UI test does to the kiosk: touch widgets, let frames pass, take screenshots."""

    def __init__(self, app: Any, clock: Any) -> None:
        self.app = app
        self.clock = clock

    def frames(self, count: int = 3) -> None:
        from kivy.base import EventLoop

        for _ in range(count):
            EventLoop.idle()

    def until(self, condition: Callable[[], T], message: str = "") -> T:
        """Draw frames until ``condition`` holds (and return its value); fails after the suite's patience."""
        return eventually(condition, between=lambda: self.frames(1), message=message)

    def tap(self, widget: Any) -> None:
        from kivy.tests.common import UnitTestTouch

        self.frames(1)
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
        self.frames(2)

    def hold(self, widget: Any, until: Callable[[], object]) -> None:
        """Press ``widget`` and keep it pressed, frames running, until ``until()`` holds; then let go."""
        from kivy.tests.common import UnitTestTouch

        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.until(until, "the press-and-hold to take effect")
        touch.touch_up()
        self.frames(2)

    def walk_screen(self) -> list[Any]:
        return list(self.screen.walk())

    @property
    def screen(self) -> Any:
        return self.app.manager.current_screen

    def screenshot(self, name: str) -> Path:
        from kivy.core.window import Window

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.frames(3)
        target = SCREENSHOTS / f"{name}.png"
        written = Path(Window.screenshot(name=str(SCREENSHOTS / f"{name}-.png")))
        written.replace(target)
        return target
