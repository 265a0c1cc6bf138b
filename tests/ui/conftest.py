"""Start the real Kivy app headless once per test session and drive it with real touches.

The window and clock are process-wide in Kivy, so the app is session-scoped and each test starts from the home
screen (``kiosk`` fixture). SDL's offscreen driver renders with software OpenGL: screenshots are real. The core
runs on a fake clock (idle warnings and resets happen when a test moves it), and tests wait for conditions with
frames in between (:meth:`~tests.ui.driver.KioskDriver.until`), never for a stretch of time.
"""

from __future__ import annotations

import pytest

from tests.support import FakeClock
from tests.ui.driver import KioskDriver


@pytest.fixture(scope="session")
def _app(tmp_path_factory):
    import sys

    from config.loader import load_config
    from screens.kivy_env import prepare_kivy

    # Kivy fixes its window size when first imported: a test that imported it earlier in this process would leave
    # the app at Kivy's default size, and the size assertions below would fail far from the cause.
    assert "kivy" not in sys.modules, "a test imported Kivy before the UI fixture: import only Kivy-free modules"
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
