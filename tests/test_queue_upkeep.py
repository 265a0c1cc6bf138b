"""``queue migrate`` and ``queue backup`` as real commands: migrations on a SQLite file and on PostgreSQL, and a
consistent SQLite copy taken while ``queue serve`` keeps issuing; a PostgreSQL target is sent to pg_dump."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import psycopg

from queueing.db import schema
from tests.support import ROOT, ServeProcess, queue_token, server_env


def queue(*words: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "queue", *words], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=server_env(**env))


def test_migrate_brings_a_new_sqlite_file_up_to_date_once(tmp_path):
    db = tmp_path / "queue.db"
    first = queue("migrate", "--db", str(db), cwd=tmp_path)
    assert first.returncode == 0 and "applied 0001_tickets" in first.stderr, first.stderr
    again = queue("migrate", cwd=tmp_path, QUEUE_DATABASE_URL=str(db))  # the variable names the same file
    assert again.returncode == 0 and "up to date" in again.stderr, again.stderr
    with sqlite3.connect(db) as conn:
        assert [name for (name,) in conn.execute("SELECT name FROM _migrations ORDER BY rowid")] == schema.names()


def test_migrate_on_postgresql_creates_the_tables_there(tmp_path, pg_cluster):
    url = pg_cluster.fresh_database("migrate")
    result = queue("migrate", "--db", url, cwd=tmp_path)
    assert result.returncode == 0 and "PostgreSQL database" in result.stderr, result.stderr
    with psycopg.connect(url) as conn:
        assert [name for (name,) in conn.execute("SELECT name FROM _migrations ORDER BY rowid")] == schema.names()
        assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone() == (0,)
    assert list(tmp_path.iterdir()) == []


def test_backup_copies_the_sqlite_file_while_the_server_issues(tmp_path):
    db, copy = tmp_path / "queue.db", tmp_path / "copy.db"
    server = ServeProcess("queue", "serve", "--db", str(db), env=server_env(QUEUE_KIOSK_TOKEN=queue_token()))
    stop = threading.Event()
    issued: list[str] = []

    def keep_issuing() -> None:
        with httpx.Client(base_url=server.url, timeout=10,
                          headers={"Authorization": f"Bearer {queue_token()}"}) as http:
            for i in range(2000):
                if stop.is_set():
                    return
                response = http.post("/api/tickets", json={"service": "HT", "request_id": f"b{i}"})
                assert response.status_code == 200, response.text
                issued.append(response.json()["number"])

    writer = threading.Thread(target=keep_issuing)
    writer.start()
    try:
        while len(issued) < 20 and writer.is_alive():
            writer.join(timeout=0.05)
        result = queue("backup", "--db", str(db), "--to", str(copy), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    finally:
        stop.set()
        writer.join(timeout=30)
        server.stop()
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        numbers = sorted(n for (n,) in conn.execute("SELECT number FROM tickets"))
    # a consistent moment of the line: every number up to the last one copied, and at least those issued before
    assert numbers == [f"A{i:03d}" for i in range(1, len(numbers) + 1)] and len(numbers) >= 20


def test_backup_of_a_postgresql_database_points_to_pg_dump(tmp_path):
    result = queue("backup", "--db", "postgresql://queue@/city?host=/nowhere", "--to", str(tmp_path / "x.db"),
                   cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "pg_dump" in result.stderr
    assert list(tmp_path.iterdir()) == []
