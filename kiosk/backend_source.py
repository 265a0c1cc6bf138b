"""Connect to the configured backend; ``backend.url = "embedded"`` starts the reference backend on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

from config.schema import KioskConfig
from kiosk.backend_client import BackendClient


def open_backend(config: KioskConfig) -> tuple[BackendClient, Callable[[], None]]:
    """A client and the function that releases it (stopping the embedded server when there is one)."""
    url, token, stop_server = config.backend.url, config.backend.token, None
    if url == "embedded":
        from backend.app import BackendSettings
        from backend.server import start_in_thread

        db = config.data_dir / "backend" / "backend.db"
        running = start_in_thread(db, kiosk_id=config.kiosk.id, settings=BackendSettings.beside(db))
        url, token, stop_server = running.url, running.token, running.stop
    client = BackendClient(url, token, timeout_s=config.backend.timeout_s,
                           cache_path=config.data_dir / "status-cache.db")

    def close() -> None:
        client.close()
        if stop_server:
            stop_server()

    return client, close
