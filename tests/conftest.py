"""Shared fixtures: a fake monotonic clock, a config pointing at a temporary data directory, a seeded backend.

Helpers and constants the tests import live in tests/support.py; this file only holds fixtures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KIVY_NO_ARGS", "1")

from tests.support import ADMIN_TOKEN, FakeClock  # noqa: E402 — needs the project root on sys.path


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kiosk_config(tmp_path: Path):
    from config.loader import load_config

    return load_config(None, [f"data_dir={tmp_path / 'data'}", "scanner.connection=sim:127.0.0.1:0"])


@pytest.fixture
def admin_backend(tmp_path):
    """A seeded reference backend on 127.0.0.1 that also accepts :data:`ADMIN_TOKEN`."""
    from backend.server import start_in_thread
    from backend.store import BackendStore

    running = start_in_thread(tmp_path / "backend.db")
    BackendStore(tmp_path / "backend.db").add_token("admin", None, ADMIN_TOKEN)
    yield running
    running.stop()
