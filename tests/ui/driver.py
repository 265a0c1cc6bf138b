"""Drive the real kiosk app with real touches, let frames pass, wait for what the screen shows, take screenshots.

Used by the UI tests (through the ``kiosk`` fixture), and by the fault run (:mod:`tests.ui.fault_run`) and the
touch-latency bench (``bench/ui_latency.py``), which start their own app in a child process
(:func:`start_kiosk`). Nothing here waits for a stretch of time: the app's clock only runs while frames are drawn,
so a test waits for a condition with frames in between (:meth:`KioskDriver.until`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from tests.support import ARTIFACTS, FakeClock, eventually

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


def runqueue_s() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (the kernel's schedstat, second field): what a
    timer subtracts so that a loaded machine does not count against the kiosk, while a blocking read counts."""
    with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as stats:
        return int(stats.read().split()[1]) / 1e9


def start_kiosk(data: Path, settings: Iterable[str], *, width: int, height: int, backend: Any = None,
                prebuilt: Iterable[str] = ()) -> KioskDriver:
    """The real kiosk app in this process (a child started for it: the window is per process), on a fake clock
    (the idle timer stays put), configured by ``settings`` (``--set`` words) and ready on the home screen.

    ``prebuilt`` screens are built and drawn once first: making widgets and their first textures is start-up work
    (tens of milliseconds per screen in software GL), not what a touch costs.
    """
    from config.loader import load_config
    from screens.kivy_env import prepare_kivy

    config = load_config(None, [f"data_dir={data}", *settings])
    prepare_kivy(data / "kivy", width=width, height=height, fullscreen=False)
    from kiosk.backend_client import connect_remote
    from kiosk.core import KioskCore
    from screens.app import KioskApp

    clock = FakeClock()
    core = KioskCore(config, clock=clock, backend=backend or connect_remote)
    core.start()
    driver = KioskDriver(KioskApp(core), clock)
    driver.app._run_prepare()
    for name in prebuilt:
        driver.app.screen(name)
        driver.app.manager.current = name
        driver.frames(3)
    driver.app.go_home()
    driver.frames(5)
    return driver
