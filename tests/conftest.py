"""Shared fixtures: a fake monotonic clock, a queue engine on its wall clock, a serial line as a socat pty pair, a
config pointing at a temporary data directory, a seeded backend.

Helpers and constants the tests import live in tests/support.py; this file only holds fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KIVY_NO_ARGS", "1")

from tests import stores  # noqa: E402 — needs the project root on sys.path
from tests.support import ADMIN_TOKEN, FakeClock, WallClock, eventually, open_engine  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--store", choices=stores.ENGINES, default="sqlite",
                     help="the engine of the servers' stores in tests marked 'stores' (tests/stores.py)")


def pytest_configure(config: pytest.Config) -> None:
    stores.engine = config.getoption("--store")


@pytest.fixture(scope="session")
def pg_cluster():
    """A throw-away PostgreSQL cluster for tests that need one whatever --store says (several processes)."""
    return stores.cluster()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clock() -> WallClock:
    """The queue engine's local time, Tuesday 9:00 in Hanoi until the test moves it."""
    return WallClock()


@pytest.fixture
def engine(tmp_path: Path, clock: WallClock):
    """A queue engine with the demo services on ``clock``, its store on the run's engine for tests marked
    ``stores`` (SQLite, or PostgreSQL with ``--store postgresql``); closed after the test."""
    opened = open_engine(stores.store_target(tmp_path / "queue.db"), clock)
    yield opened
    opened.close()


@pytest.fixture
def pty_pair(tmp_path: Path):
    """A serial line as two linked ptys (socat): ``(ours, theirs)``, the paths the driver under test and the device
    simulated on the other end open; skipped where socat is missing."""
    if not shutil.which("socat"):
        pytest.skip("socat is not installed (make test installs it)")
    ours, theirs = tmp_path / "serial-a", tmp_path / "serial-b"
    proc = subprocess.Popen(["socat", f"pty,raw,echo=0,link={ours}", f"pty,raw,echo=0,link={theirs}"],
                            stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: ours.exists() and theirs.exists(), message="socat created both ends of the pty pair")
        yield str(ours), str(theirs)
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
def kiosk_config(tmp_path: Path):
    from config.loader import load_config

    return load_config(None, [f"data_dir={tmp_path / 'data'}", "scanner.connection=sim:127.0.0.1:0"])


@pytest.fixture
def admin_backend(tmp_path):
    """A seeded reference backend on 127.0.0.1 that also accepts :data:`ADMIN_TOKEN` (on the engine of the run for
    tests marked ``stores``)."""
    from backend.server import start_in_thread
    from tests.support import add_token

    target = stores.store_target(tmp_path / "backend.db")
    running = start_in_thread(target)
    add_token(target, "admin", ADMIN_TOKEN)
    yield running
    running.stop()


@pytest.fixture
def key():
    """A fleet's content signing key (Ed25519): the ``signed_backend`` and the kiosks a test configures trust it."""
    from nacl.signing import SigningKey

    return SigningKey.generate()


@pytest.fixture
def signed_backend(tmp_path, key):
    """A reference backend on 127.0.0.1 that signs and trusts content with ``key`` (and accepts the admin token)."""
    from tests.support import content_backend

    running = content_backend(stores.store_target(tmp_path / "backend.db"), key)
    yield running
    running.stop()
