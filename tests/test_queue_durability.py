"""Durable tickets: every write of the queue engine returns only once its commit is fsynced to the disk, and
concurrent writers share fsyncs (group commit) rather than paying one each. Real SQLite files; ``os.fsync`` is
wrapped to record how much of the WAL file each real fsync covered."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tests.support import WallClock, open_engine, take


@pytest.fixture
def fsyncs(monkeypatch) -> list[int]:
    """Sizes of the regular files fsynced, in order (the WAL; directory syncs are left out)."""
    seen: list[int] = []
    real = os.fsync

    def recording(fd: int) -> None:
        real(fd)
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            seen.append(info.st_size)

    monkeypatch.setattr(os, "fsync", recording)
    return seen


def test_an_issued_ticket_is_on_the_disk_before_issue_returns(tmp_path, fsyncs):
    engine = open_engine(tmp_path / "queue.db", WallClock())
    wal = Path(f"{tmp_path / 'queue.db'}-wal")
    try:
        for _ in range(5):
            ticket = take(engine)
            assert fsyncs and fsyncs[-1] >= wal.stat().st_size, f"{ticket.number} returned before its fsync"
    finally:
        engine.close()


def test_concurrent_issues_share_fsyncs(tmp_path, fsyncs):
    engine = open_engine(tmp_path / "queue.db", WallClock())
    issued: list[str] = []
    start = threading.Barrier(8)

    def kiosk() -> None:
        start.wait(timeout=10)
        issued.extend(take(engine).number for _ in range(40))

    threads = [threading.Thread(target=kiosk) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.close()
    assert len(set(issued)) == 320
    assert len(fsyncs) < 320 * 0.9, f"{len(fsyncs)} fsyncs for 320 tickets: no group commit"
