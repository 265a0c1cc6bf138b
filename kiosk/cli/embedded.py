"""Connect to the configured backend; ``backend.url = "embedded"`` starts the reference backend on 127.0.0.1.

This lives in the CLI package, the one part of kiosk/ allowed to import the backend: the core only ever talks to
a backend over HTTP, through the connector it is given. Everything is imported when a backend is opened, not
when this module is: the kiosk process imports its libraries in its own order (screens/lean_start.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from config.schema import KioskConfig

if TYPE_CHECKING:
    from kiosk.backend_client import BackendClient


def open_backend(config: KioskConfig) -> tuple[BackendClient, Callable[[], None]]:
    """A client and the function that releases it (stopping the embedded server when there is one)."""
    from kiosk.backend_client import client_for, connect_remote

    if config.backend.url != "embedded":
        return connect_remote(config)
    from backend.app import BackendSettings
    from backend.server import start_in_thread
    from contracts.sms import SIM_DIR_NAME, SimulatedGateway

    db = config.data_dir / "backend" / "backend.db"
    # status SMS of the citizens who consent go to the simulator's spool, as with `backend serve` without --sms-url
    sms = SimulatedGateway(db.parent / SIM_DIR_NAME)
    running = start_in_thread(db, kiosk_id=config.kiosk.id, settings=BackendSettings.beside(db, sms=sms))
    client = client_for(config, running.url, running.token)

    def close() -> None:
        client.close()
        running.stop()

    return client, close
