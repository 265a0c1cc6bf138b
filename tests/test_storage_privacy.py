"""Data on disk stays private: folders 0700 and files 0600 from a fresh start, and copies in corrupt/ deleted once
older than the retention days (each check at start and the kiosk's daily task)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from contracts.storage import DAY_S, check_and_repair, private_dir, purge_corrupt
from kiosk.cli.embedded import open_backend
from kiosk.core import KioskCore
from tests.support import ROOT


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_kiosk_process_creates_its_data_private(tmp_path):
    """The real CLI: every folder it makes is 0700 and every file 0600, whatever the caller's umask."""
    data = tmp_path / "site" / "data"
    result = subprocess.run([sys.executable, "main.py", "--set", f"data_dir={data}", "outbox", "list"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr
    created = [data, *data.rglob("*")]
    assert (data / "outbox.db").is_file()
    assert {path.name: mode(path) for path in created if path.is_dir()} == {"data": 0o700}
    assert {path.name: mode(path) for path in created if path.is_file()} == {
        path.name: 0o600 for path in created if path.is_file()}


def test_the_kiosk_closes_a_data_dir_an_older_version_left_open(kiosk_config):
    data = kiosk_config.data_dir
    data.mkdir(parents=True, mode=0o755)
    data.chmod(0o755)
    core = KioskCore(kiosk_config, backend=open_backend)
    try:
        assert mode(data) == 0o700
    finally:
        core.close()


def test_private_dir_creates_missing_folders_closed(tmp_path):
    made = private_dir(tmp_path / "a" / "logs")
    assert mode(made) == 0o700 and made.is_dir()


def corrupt_copy(folder: Path, name: str, age_days: float) -> Path:
    copy = folder / "corrupt" / name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(b"a citizen's form")
    then = time.time() - age_days * DAY_S
    os.utime(copy, (then, then))
    return copy


def test_copies_older_than_the_retention_days_are_deleted_and_newer_ones_kept(tmp_path):
    old = corrupt_copy(tmp_path, "outbox.db.20250101T000000Z", 31)
    old_wal = corrupt_copy(tmp_path, "outbox.db.20250101T000000Z-wal", 31)
    nested = corrupt_copy(tmp_path / "content", "store.db.20250101T000000Z", 40)
    recent = corrupt_copy(tmp_path, "queue.db.20251101T000000Z", 29)
    assert purge_corrupt(tmp_path, 30) == 3
    assert not old.exists() and not old_wal.exists() and not nested.exists() and recent.exists()
    assert purge_corrupt(tmp_path, 30, now=time.time() + 2 * DAY_S) == 1 and not recent.exists()


def test_each_check_at_start_deletes_old_copies_beside_the_file(tmp_path):
    """Servers have no daily task: opening their database is when old copies go."""
    old = corrupt_copy(tmp_path, "backend.db.20250101T000000Z", 45)
    recent = corrupt_copy(tmp_path, "backend.db.20251101T000000Z", 2)
    check_and_repair(tmp_path / "backend.db")
    assert not old.exists() and recent.exists()


def test_a_copy_counts_its_age_from_its_move(tmp_path):
    """A file last written long ago and moved aside today is kept for the full retention time."""
    path = tmp_path / "queue.db"
    path.write_bytes(b"not a database at all" * 300)
    long_ago = time.time() - 400 * DAY_S
    os.utime(path, (long_ago, long_ago))
    moved = check_and_repair(path, report=lambda _line: None).moved_to
    assert moved.exists() and time.time() - moved.stat().st_mtime < DAY_S
    assert mode(moved.parent) == 0o700
    assert purge_corrupt(tmp_path, 30) == 0 and moved.exists()
