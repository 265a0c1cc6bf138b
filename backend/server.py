"""Run the reference backend: standalone (``backend serve``) or embedded in the kiosk on 127.0.0.1.

The embedded server runs uvicorn on a thread with a random free port, seeded with the demo catalogue, dossiers
and a booking, so a fresh checkout can look dossiers up with nothing else installed.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import uvicorn

from backend.app import BackendSettings, create_app
from backend.store import BackendStore
from contracts.sqldb import is_url, open_database
from contracts.storage import check_and_repair

# The seeded local backend's fee account (embedded kiosk, tests, benches), so the demo shows a VietQR; labelled as
# a demo here because `backend serve` never uses it: a real backend pays into the account it is configured with.
DEMO_BANK = {"bank_bin": "970415", "bank_account": "113000006868"}


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


@dataclass
class RunningBackend(RunningServer):
    token: str = ""
    store: BackendStore | None = None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, then release the store's database (a PostgreSQL pool's connections)."""
        super().stop(timeout)
        if self.store is not None:
            self.store.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def open_store(target: Path | str, *, create_dir: bool = True) -> BackendStore:
    """The backend's store at ``target`` (a SQLite path, whose file is checked and repaired first, or a
    ``postgresql://`` URL), migrated and seeded.

    :param create_dir: create a SQLite file's missing directory (the embedded backend's, the default location).
    :raises contracts.sqldb.DatabaseTargetError: ``target`` cannot be used.
    """
    if not is_url(target):
        path = Path(target)
        if create_dir:
            path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.is_dir():
            check_and_repair(path)
    store = BackendStore(open_database(target))
    store.seed()
    return store


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0,
                    name: str = "embedded-server") -> RunningServer:
    """Run an ASGI app with uvicorn on a daemon thread, once it accepts connections (tests, benches, the kiosk's
    embedded backend). Open event streams are cut after a second at stop, so stopping never hangs on a board. The
    app's lifespan runs (the embedded backend's status-SMS sender, a queue server's city reports when given).

    :raises RuntimeError: it did not start within 10 s (e.g. the port is taken).
    """
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="auto",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # the kiosk owns SIGTERM
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        raise RuntimeError(f"{name} did not start on {host}:{port}")
    return RunningServer(f"http://{host}:{port}", server, thread)


def start_in_thread(db_path: Path | str, *, host: str = "127.0.0.1", port: int = 0,
                    settings: BackendSettings | None = None, kiosk_id: str = "embedded") -> RunningBackend:
    """Start a seeded backend on a thread; returns once it accepts connections with a token for ``kiosk_id``.

``db_path`` is a SQLite file (content, fleet and surveys as ``settings`` say: in memory unless
:meth:`BackendSettings.beside` it) or a ``postgresql://`` URL (everything in that database).

    Local and seeded like its demo data, it takes fees into :data:`DEMO_BANK` unless ``settings`` name an account.
    """
    settings = settings or BackendSettings()
    if settings.bank_account is None:
        settings = replace(settings, **DEMO_BANK)
    store = open_store(db_path)
    token = store.add_token("kiosk", kiosk_id)
    running = serve_in_thread(create_app(store, settings), host=host, port=port, name="embedded-backend")
    return RunningBackend(running.url, running.server, running.thread, token, store)
