"""Shared fixtures: a fake monotonic clock and a config pointing at a temporary data directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KIVY_NO_ARGS", "1")
ARTIFACTS = ROOT / "artifacts"


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kiosk_config(tmp_path: Path):
    from config.loader import load_config

    return load_config(None, [f"data_dir={tmp_path / 'data'}", "scanner.connection=sim:127.0.0.1:0"])


ADMIN_TOKEN = "admin-token-for-tests"


@pytest.fixture
def admin_backend(tmp_path):
    """A seeded reference backend on 127.0.0.1 that also accepts :data:`ADMIN_TOKEN`."""
    from backend.server import start_in_thread
    from backend.store import BackendStore

    running = start_in_thread(tmp_path / "backend.db")
    BackendStore(tmp_path / "backend.db").add_token("admin", None, ADMIN_TOKEN)
    yield running
    running.stop()
