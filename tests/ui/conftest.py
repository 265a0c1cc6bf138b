"""Start the real Kivy app headless once per test session and drive it with real touches.

The window and clock are process-wide in Kivy, so the app is session-scoped and each test starts from the home
screen (``kiosk`` fixture). SDL's offscreen driver renders with software OpenGL: screenshots are real.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, FakeClock

SCREENSHOTS = ARTIFACTS / "screens"


class KioskDriver:
    """What a UI test does to the kiosk: touch widgets, let frames pass, take screenshots."""

    def __init__(self, app, clock: FakeClock) -> None:
        self.app = app
        self.clock = clock

    def frames(self, count: int = 3) -> None:
        from kivy.base import EventLoop

        for _ in range(count):
            EventLoop.idle()

    def tap(self, widget) -> None:
        from kivy.tests.common import UnitTestTouch

        self.frames(1)
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
        self.frames(2)

    def wait(self, seconds: float) -> None:
        """Let real time pass with frames running (for Kivy Clock intervals such as the idle tick)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.frames(1)
            time.sleep(0.02)

    def hold(self, widget, seconds: float) -> None:
        from kivy.tests.common import UnitTestTouch

        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.wait(seconds)
        touch.touch_up()
        self.frames(2)

    def walk_screen(self):
        return list(self.screen.walk())

    @property
    def screen(self):
        return self.app.manager.current_screen

    def screenshot(self, name: str) -> Path:
        from kivy.core.window import Window

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.frames(3)
        target = SCREENSHOTS / f"{name}.png"
        written = Path(Window.screenshot(name=str(SCREENSHOTS / f"{name}-.png")))
        written.replace(target)
        return target


@pytest.fixture(scope="session")
def _app(tmp_path_factory):
    from config.loader import load_config
    from screens.kivy_env import prepare_kivy

    data = tmp_path_factory.mktemp("kiosk-data")
    config = load_config(None, [f"data_dir={data}", "scanner.connection=sim:127.0.0.1:0",
                                f"voice.output=file:{data / 'voice'}", 'voice.quiet_hours=""'])
    prepare_kivy(data / "kivy", width=1080, height=1920, fullscreen=False)
    from kiosk.cli.embedded import open_backend
    from kiosk.core import KioskCore
    from screens.app import KioskApp

    clock = FakeClock()
    core = KioskCore(config, clock=clock, backend=open_backend)
    core.start()
    app = KioskApp(core)
    app._run_prepare()
    yield app, clock
    app.stop()


@pytest.fixture
def kiosk(_app) -> KioskDriver:
    app, clock = _app
    driver = KioskDriver(app, clock)
    app.go_home()
    driver.frames(2)
    return driver
