"""Run the kiosk UI: prepare Kivy, build the core, start the app, stop cleanly on SIGTERM/SIGINT.

systemd stops the kiosk with SIGTERM; the handler asks the Kivy loop to stop on its next frame, so the app's
``on_stop`` closes devices and the process exits well within 2 s. The backend connects once the first frame is
on screen: starting the embedded backend (importing its server) would otherwise compete with building the home
screen for the interpreter and delay the first frame. Each frame is flushed to the renderer as it flips
(:mod:`screens.frame_flush`) and large freed blocks go back to the OS (:mod:`screens.native_heap`).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from config.schema import KioskConfig
from kiosk.logfile import configure_logging
from screens.kivy_env import prepare_kivy
from screens.lean_start import import_without_extras
from screens.native_heap import return_large_frees

if TYPE_CHECKING:
    from kiosk.backend_client import BackendClient, Connector


def _started_at() -> float:
    main_module = sys.modules.get("__main__")
    return getattr(main_module, "STARTED_AT", time.perf_counter())


def run_kiosk(config: KioskConfig, *, backend: Connector, windowed: bool = False,
              site_config: Path | None = None) -> int:
    """Run until the app stops; ``backend`` connects the core (the CLI's starts the embedded backend)."""
    return_large_frees()
    import_without_extras()
    configure_logging(config.data_dir / "logs")
    prepare_kivy(
        config.data_dir / "kivy",
        width=config.screen.width,
        height=config.screen.height,
        fullscreen=config.screen.fullscreen and not windowed,
    )
    from kivy.clock import Clock

    from kiosk.core import KioskCore
    from screens import fatal
    from screens.app import KioskApp
    from screens.frame_flush import flush_each_frame

    flush_each_frame()

    shown = threading.Event()

    def connect_once_shown(cfg: KioskConfig) -> tuple[BackendClient, Callable[[], None]]:
        shown.wait()  # on the core's backend-connect thread, never the UI thread
        return backend(cfg)

    core = KioskCore(config, site_config=site_config, backend=connect_once_shown)
    app = KioskApp(core, started_at=_started_at(), on_first_frame=shown.set)
    fatal.install(app)

    def _stop(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).warning("signal %s: stopping", signum)
        Clock.schedule_once(lambda _dt: app.stop(), 0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    core.start()
    app.run()
    return app.exit_status
