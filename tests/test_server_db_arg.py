"""An unusable ``--db`` stops ``backend serve`` and ``queue serve`` with one line and exit 2, creating nothing.

Each server runs as a real process in an empty working directory, so a stray file or directory it made (before this
check, ``--db postgresql://…`` made ``postgresql:/`` there and served from a new SQLite file) shows in the listing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, server_env

SERVERS = [("backend", "serve"), ("queue", "serve")]


def start(cwd: Path, command: tuple[str, str], db: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *command, "--db", db], cwd=cwd,
                          capture_output=True, text=True, timeout=60, env=server_env())


def refused(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", SERVERS, ids=" ".join)
@pytest.mark.parametrize(("url", "says"), [
    ("postgresql://queue:s3cret-pw@/city?host=/nonexistent-socket-dir", "cannot connect"),
    ("postgres://queue:s3cret-pw@/city?host=/nonexistent-socket-dir", "cannot connect"),
    ("sqlite:///var/lib/queue.db", "path of a SQLite file or a postgresql:// URL"),
])
def test_a_database_url_that_cannot_be_used_is_refused_and_nothing_is_created(tmp_path, command, url, says):
    line = refused(start(tmp_path, command, url))
    assert says in line
    assert "s3cret" not in line  # a URL may carry the database password
    assert list(tmp_path.iterdir()) == []


def test_several_queue_workers_need_postgresql(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "queue", "serve", "--db", str(tmp_path / "q.db"),
                             "--workers", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env=server_env())
    assert "several processes need a postgresql:// database" in refused(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", SERVERS, ids=" ".join)
def test_a_db_in_a_missing_directory_is_refused_and_the_directory_not_made(tmp_path, command):
    line = refused(start(tmp_path, command, str(tmp_path / "typo" / "data.db")))
    assert f"the directory {tmp_path / 'typo'} does not exist" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", SERVERS, ids=" ".join)
def test_a_db_that_is_a_directory_or_under_a_file_is_refused(tmp_path, command):
    (tmp_path / "folder").mkdir()
    (tmp_path / "plain").write_text("not a directory")
    assert "is a directory" in refused(start(tmp_path, command, str(tmp_path / "folder")))
    assert "does not exist" in refused(start(tmp_path, command, str(tmp_path / "plain" / "data.db")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "plain"]
    assert list((tmp_path / "folder").iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any directory")
@pytest.mark.parametrize("command", SERVERS, ids=" ".join)
def test_a_db_in_a_read_only_directory_is_refused(tmp_path, command):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        assert "is not writable" in refused(start(tmp_path, command, str(locked / "data.db")))
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)
