"""Connect to the configured backend; ``backend.url = "embedded"`` starts the reference backend on 127.0.0.1.

This lives in the CLI package, the one part of kiosk/ allowed to import the backend: the core only ever talks to
a backend over HTTP, through the connector it is given.
"""

from __future__ import annotations

from collections.abc import Callable

from config.schema import KioskConfig
from kiosk.backend_client import BackendClient, client_for, connect_remote


def open_backend(config: KioskConfig) -> tuple[BackendClient, Callable[[], None]]:
    """A client and the function that releases it (stopping the embedded server when there is one)."""
    if config.backend.url != "embedded":
        return connect_remote(config)
    from backend.app import BackendSettings
    from backend.server import start_in_thread

    db = config.data_dir / "backend" / "backend.db"
    running = start_in_thread(db, kiosk_id=config.kiosk.id, settings=BackendSettings.beside(db))
    client = client_for(config, running.url, running.token)

    def close() -> None:
        client.close()
        running.stop()

    return client, close
