"""systemd integration: sd_notify datagrams on a real unix socket, and the unit file verifies."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from kiosk.watchdog import Watchdog
from tests.support import ROOT


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    messages = []
    try:
        while True:
            messages.append(sock.recv(256).decode())
    except TimeoutError:
        return messages


def test_ready_and_rate_limited_watchdog_pings(notify_socket, fake_clock):
    dog = Watchdog(min_interval_s=5, clock=fake_clock)
    dog.ready()
    for _ in range(10):  # ten UI ticks within one interval: one ping
        dog.feed()
        fake_clock.advance(0.25)
    fake_clock.advance(5)
    dog.feed()
    assert received(notify_socket) == ["READY=1", "WATCHDOG=1", "WATCHDOG=1"]


def test_without_notify_socket_it_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    dog = Watchdog()
    dog.ready()
    dog.feed()
    assert not dog.enabled


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_unit_file_verifies():
    result = subprocess.run(["systemd-analyze", "verify", str(ROOT / "deploy/systemd/kiosk.service")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
