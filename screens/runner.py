"""Run the kiosk UI: prepare Kivy, build the core, start the app, stop cleanly on SIGTERM/SIGINT.

systemd stops the kiosk with SIGTERM; the handler asks the Kivy loop to stop on its next frame, so the app's
``on_stop`` closes devices and the process exits well within 2 s.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path

from config.schema import KioskConfig
from kiosk.backend_client import Connector
from kiosk.logfile import configure_logging
from screens.kivy_env import prepare_kivy


def _started_at() -> float:
    main_module = sys.modules.get("__main__")
    return getattr(main_module, "STARTED_AT", time.perf_counter())


def run_kiosk(config: KioskConfig, *, backend: Connector, windowed: bool = False,
              site_config: Path | None = None) -> int:
    """Run until the app stops; ``backend`` connects the core (the CLI's starts the embedded backend)."""
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

    core = KioskCore(config, site_config=site_config, backend=backend)
    app = KioskApp(core, started_at=_started_at())
    fatal.install(app)

    def _stop(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).warning("signal %s: stopping", signum)
        Clock.schedule_once(lambda _dt: app.stop(), 0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    core.start()
    app.run()
    return app.exit_status
