"""`backend migrate`, `backend copy-data` and `backend backup` as an operator runs them (real processes).

A ward's site made by the SQLite backend — dossiers with their timelines, tokens, a content bundle, a heartbeat,
survey answers — is copied into a new PostgreSQL database and a backend serving from there answers the same; a
target that already holds dossiers is refused; the SQLite files are backed up while the server writes.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey

from backend.app import BackendSettings
from backend.server import open_store, start_in_thread
from config.localtime import LOCAL_TZ
from contracts.content.signing import encode_public_key
from contracts.sqldb import open_database
from tests.support import ROOT, ServeProcess, dossier_body, make_bundle, server_env

ADMIN = "copy-data-admin-token"
DEMO = "000.00.13.H26-251120-000"


def main(*words: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "backend", *words], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env or server_env())


def make_site(folder: Path, key: SigningKey) -> dict[str, object]:
    """A SQLite site with a bit of everything; returns what a kiosk saw of it."""
    db = folder / "backend.db"
    running = start_in_thread(db, settings=BackendSettings.beside(
        db, trusted_keys=(encode_public_key(key.verify_key),)), kiosk_id="K01")
    kiosk = {"Authorization": f"Bearer {running.token}"}
    try:
        codes = [httpx.post(f"{running.url}/api/dossiers", json=dossier_body("HT05"),
                            headers={**kiosk, "Idempotency-Key": f"site-{n:04d}"}).json()["code"] for n in range(3)]
        httpx.post(f"{running.url}/api/bookings/BK-251120-DEMO01/checkin", headers=kiosk).raise_for_status()
        bundle = make_bundle(folder, key, 3)
        store = running.store
        store.add_token("admin", None, ADMIN)
        httpx.post(f"{running.url}/api/content/bundles", content=bundle.read_bytes(),
                   headers={"Authorization": f"Bearer {ADMIN}"}).raise_for_status()
        httpx.post(f"{running.url}/api/fleet/heartbeat", headers=kiosk, json={
            "kiosk_id": "K01", "interval_s": 60, "branch": "Hoàn Kiếm", "app_version": "0.1.0", "printer": "ok",
            "scanner": "listening", "outbox_depth": 0, "uptime_s": 5}).raise_for_status()
        answered = dt.datetime.now(LOCAL_TZ).isoformat()
        httpx.post(f"{running.url}/api/city/reports", headers={"Authorization": f"Bearer {ADMIN}"}, json={"reports": [{
            "centre": "HN-TTHCC", "name": "Hoàn Kiếm", "seq": 1, "at": answered, "target_wait_min": 30,
            "services": [{"code": "HT", "name": "Hộ tịch", "waiting": 2, "virtual_waiting": 0, "issued": 3,
                          "served": 1, "no_shows": 0, "wait_now_min": 4.0, "wait_p90_min": None, "counters_open": 1}],
            "counters_open": 1, "kiosks": [], "displays_online": 0}]}).raise_for_status()
        for n, rating in enumerate((5, 2)):
            httpx.post(f"{running.url}/api/surveys", headers={**kiosk, "Idempotency-Key": f"answer-{n:04d}"}, json={
                "rating": rating, "reasons": ["wait_time"] if rating < 3 else [], "kind": "standalone",
                "branch": "Hoàn Kiếm", "answered_at": answered}).raise_for_status()
        statuses = {code: httpx.get(f"{running.url}/api/dossiers/{code}", headers=kiosk).json()
                    for code in [*codes, *(f"{DEMO}{n}" for n in range(1, 6))]}
        return {"token": running.token, "statuses": statuses, "bundle": bundle.read_bytes()}
    finally:
        running.stop()


@pytest.fixture
def site(tmp_path) -> tuple[Path, dict[str, object], SigningKey]:
    key = SigningKey.generate()
    folder = tmp_path / "site"
    folder.mkdir()
    return folder / "backend.db", make_site(folder, key), key


def test_a_sqlite_site_copied_to_postgres_serves_the_same_answers(site, pg_cluster):
    source, seen, key = site
    url = pg_cluster.fresh_database()
    copied = main("copy-data", "--from", str(source), "--to", url)
    assert copied.returncode == 0, copied.stderr
    counts = dict(line.rsplit(": ", 1) for line in copied.stdout.splitlines())
    assert counts["dossiers"] == "8 rows" and counts["timeline"] == "16 rows" and counts["content_bundles"] == "1 rows"
    assert counts["heartbeats"] == "1 rows" and counts["survey_answers"] == "2 rows"
    assert counts["city_latest"] == "1 rows" and counts["city_history"] == "1 rows"
    server = ServeProcess("backend", "serve", "--db", url,
                          env=server_env(BACKEND_CONTENT_TRUSTED_KEYS=encode_public_key(key.verify_key)))
    try:
        kiosk = {"Authorization": f"Bearer {seen['token']}"}  # the token the site issued still works
        for code, status in seen["statuses"].items():
            assert httpx.get(f"{server.url}/api/dossiers/{code}", headers=kiosk).json() == status
        bundle = httpx.get(f"{server.url}/api/content/latest", params={"kiosk": "K01"}, headers=kiosk)
        assert bundle.content == seen["bundle"]
        again = httpx.post(f"{server.url}/api/dossiers", json=dossier_body("HT05"),
                           headers={**kiosk, "Idempotency-Key": "site-0001"})
        assert again.status_code == 200  # the copied key: the same dossier, not a new one
        new = httpx.post(f"{server.url}/api/dossiers", json=dossier_body("HT05"),
                         headers={**kiosk, "Idempotency-Key": "site-after-the-move"})
        assert new.json()["code"].endswith("-0004")  # the day's sequence carries on
        answer = httpx.post(f"{server.url}/api/surveys", headers={**kiosk, "Idempotency-Key": "answer-after"}, json={
            "rating": 4, "kind": "standalone", "branch": "Hoàn Kiếm",
            "answered_at": dt.datetime.now(LOCAL_TZ).isoformat()})
        assert answer.status_code == 201 and answer.json()["id"] == 3  # ids continue after the copied ones
    finally:
        server.stop()
    refused = main("copy-data", "--from", str(source), "--to", url)
    assert refused.returncode == 1 and "already holds" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_migrate_applies_once_and_says_so(tmp_path, pg_cluster):
    for target in (str(tmp_path / "backend.db"), pg_cluster.fresh_database()):
        first = main("migrate", "--db", target)
        assert first.returncode == 0 and "applied 0001_backend" in first.stdout and "surveys_0001_answers" in \
            first.stdout, first.stderr
        second = main("migrate", "--db", target)
        assert second.returncode == 0 and "nothing to apply" in second.stdout
    assert sorted(path.name for path in tmp_path.glob("*.db")) == ["backend.db", "city.db", "content.db",
                                                                   "fleet.db", "survey.db"]


def test_backup_copies_every_file_consistently_while_the_server_writes(site, tmp_path):
    source, _seen, _key = site
    copies = tmp_path / "copies"
    copies.mkdir()
    running = start_in_thread(source, settings=BackendSettings.beside(source))
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set() and n < 500:
            httpx.post(f"{running.url}/api/dossiers", json=dossier_body("HT05"),
                       headers={"Authorization": f"Bearer {running.token}", "Idempotency-Key": f"during-{n:05d}"})
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        result = main("backup", "--db", str(source), "--to", str(copies))
    finally:
        stop.set()
        writer.join()
        running.stop()
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in copies.iterdir()) == ["backend.db", "city.db", "content.db", "fleet.db",
                                                        "survey.db"]
    with sqlite3.connect(copies / "backend.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        dossiers = copy.execute("SELECT COUNT(*) FROM dossiers").fetchone()[0]
        keyed = copy.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0]
        assert dossiers - 5 == keyed  # every dossier with its key: no filing half in the copy
    db = open_database(copies / "content.db")
    assert db.query("SELECT COUNT(*) FROM content_bundles") == [(1,)]
    db.close()


def test_backup_of_postgres_says_which_tools_and_refusals_are_one_line(tmp_path, pg_cluster):
    said = main("backup", "--db", pg_cluster.fresh_database(), "--to", str(tmp_path))
    assert said.returncode == 2 and "pg_dump" in said.stderr and len(said.stderr.strip().splitlines()) == 1
    nowhere = main("backup", "--db", str(tmp_path / "none.db"), "--to", str(tmp_path))
    assert nowhere.returncode == 2 and "no backend database" in nowhere.stderr
    assert list(tmp_path.iterdir()) == []
    not_a_url = main("copy-data", "--from", str(tmp_path / "x.db"), "--to", str(tmp_path / "y.db"))
    assert not_a_url.returncode == 2 and "postgresql://" in not_a_url.stderr


def test_a_copy_that_fails_half_way_leaves_the_target_empty(tmp_path, pg_cluster):
    """GIVEN a site whose file holds a table this version does not know WHEN it is copied THEN copy-data stops
    with one line and the target holds none of the rows copied before it (one transaction)."""
    source = tmp_path / "backend.db"
    open_store(source).close()  # seeded: demo dossiers and the catalogue
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE zz_unknown (x INTEGER)")
        db.execute("INSERT INTO zz_unknown VALUES (1)")
    url = pg_cluster.fresh_database()
    stopped = main("copy-data", "--from", str(source), "--to", url)
    assert stopped.returncode == 1 and len(stopped.stderr.strip().splitlines()) == 1, stopped.stderr
    assert "zz_unknown" in stopped.stderr and "nothing copied" in stopped.stderr
    target = open_database(url)
    try:
        assert target.query("SELECT COUNT(*) FROM dossiers") == [(0,)]
        assert target.query("SELECT COUNT(*) FROM procedures") == [(0,)]
    finally:
        target.close()
