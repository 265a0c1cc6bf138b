"""Branch figures to the city: the backend keeps each centre's reports once with their 15-minute history, refuses
what is not a report token's, and (below) the queue server computes the figures and delivers every snapshot
through its outbox, across a backend outage and a kill -9. Marked ``stores``: SQLite, then PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.app import BackendSettings
from backend.city import BranchReport, CityStore
from backend.server import RunningBackend, free_port, open_store, start_in_thread
from config.localtime import LOCAL_TZ
from config.services import ServiceDef
from contracts.content.policy import forbidden_key
from contracts.pin import hash_pin
from contracts.sqldb import open_database
from queueing.city_figures import Centre, branch_figures
from queueing.city_outbox import first_seq
from queueing.engine import QueueEngine
from queueing.server.city_sender import CityLink, CitySender
from queueing.server.counters import CounterLogins
from queueing.server.kiosks import Presence
from tests.stores import store_target
from tests.support import ROOT, ServeProcess, WallClock, eventually, server_env, take

pytestmark = pytest.mark.stores

ADMIN, KIOSK, REPORTER = "city-admin-token-for-tests", "city-kiosk-token", "city-report-token-for-tests"
T0 = dt.datetime.combine(dt.datetime.now(LOCAL_TZ).date(), dt.time(9), LOCAL_TZ)  # recent: kept and checked
DAY = T0.date().isoformat()
FIRST = first_seq(T0.timestamp())  # the first seq of a queue database whose first snapshot is at T0


def report(seq: int, at: dt.datetime, *, centre: str = "HN-TTHCC", waiting: int = 5, issued: int = 10,
           **service: Any) -> dict[str, Any]:
    """One REPORT of contracts B with one service, HT."""
    return {"centre": centre, "name": f"Trung tâm {centre}", "seq": seq, "at": at.isoformat(), "target_wait_min": 30,
            "services": [{"code": "HT", "name": "Hộ tịch", "waiting": waiting, "virtual_waiting": 1, "issued": issued,
                          "served": issued - waiting, "no_shows": 0, "wait_now_min": 12.5, "wait_p90_min": 20.0,
                          "counters_open": 2, **service}],
            "counters_open": 2, "kiosks": [{"id": "HN-HK-01", "online": True, "last_seen": at.isoformat()}],
            "displays_online": 1}


@pytest.fixture
def backend_db(tmp_path: Path) -> Path | str:
    target = store_target(tmp_path / "backend" / "backend.db")
    store = open_store(target)
    store.add_token("admin", None, ADMIN)
    store.add_token("kiosk", "HN-HK-01", KIOSK)
    store.add_token("report", None, REPORTER)
    store.close()
    return target


@pytest.fixture
def backend(backend_db) -> RunningBackend:
    running = start_in_thread(backend_db, settings=BackendSettings.beside(backend_db))
    yield running
    running.stop()


def post(url: str, reports: list[dict[str, Any]], token: str | None = REPORTER) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}/api/city/reports", json={"reports": reports}, headers=headers, timeout=10)


def city_store(backend_db: Path | str) -> CityStore:
    """The backend's city tables, opened as the backend opens them (city.db beside backend.db, or the one database)."""
    settings = BackendSettings.beside(backend_db)
    return CityStore(backend_db if isinstance(backend_db, str) else settings.city_db)


# -- the backend side --------------------------------------------------------------------------------------------------
def test_a_report_is_kept_once_and_the_newest_shows_per_centre(backend, backend_db):
    first = post(backend.url, [report(1, T0), report(2, T0 + dt.timedelta(seconds=30), waiting=7)])
    assert first.status_code == 200 and first.json() == {"accepted": 2, "duplicates": 0}
    again = post(backend.url, [report(2, T0 + dt.timedelta(seconds=30), waiting=7), report(3, T0 + dt.timedelta(
        seconds=60), waiting=9), report(1, T0, centre="HN-BADINH")])
    assert again.json() == {"accepted": 2, "duplicates": 1}
    city = city_store(backend_db)
    try:
        centres = city.centres()
        assert [entry["centre"] for entry in centres] == ["HN-BADINH", "HN-TTHCC"]  # by name
        newest = centres[1]
        assert newest["seq"] == 3 and newest["services"][0]["waiting"] == 9
        assert newest["at"] == f"{DAY}T09:01:00+07:00" and dt.datetime.fromisoformat(newest["received_at"])
        version = city.version()
        assert post(backend.url, [report(3, T0 + dt.timedelta(seconds=60))]).json()["duplicates"] == 1
        assert city.version() == version  # nothing new, nothing for a live page to redraw
        post(backend.url, [report(4, T0 + dt.timedelta(seconds=90))])
        assert city.version() != version
    finally:
        city.db.close()


def test_history_keeps_one_row_per_15_minute_slot_and_service(backend, backend_db):
    minutes = [0, 5, 14, 15, 44, 46]
    waiting = [3, 11, 6, 2, 8, 4]
    post(backend.url, [report(n + 1, T0 + dt.timedelta(minutes=m), waiting=w, issued=10 + n)
                       for n, (m, w) in enumerate(zip(minutes, waiting, strict=True))])
    late = report(7, T0 + dt.timedelta(minutes=13), waiting=1, issued=99)  # arrives late, older than slot's last
    post(backend.url, [late])
    city = city_store(backend_db)
    try:
        rows = city.history("HN-TTHCC", T0, T0 + dt.timedelta(hours=1))
        assert city.history("HN-TTHCC", T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)) == []
        assert city.history("HN-OTHER", T0, T0 + dt.timedelta(hours=1)) == []
    finally:
        city.db.close()
    assert [row["slot"] for row in rows] == [f"{DAY}T09:{minute}:00+07:00" for minute in ("00", "15", "30", "45")]
    assert [(row["waiting_last"], row["waiting_max"], row["issued"]) for row in rows] == [
        (6, 11, 12), (2, 2, 13), (8, 8, 14), (4, 4, 15)]  # the late report raised no max and changed no last
    assert rows[0] == {"slot": f"{DAY}T09:00:00+07:00", "service": "HT", "waiting_last": 6, "waiting_max": 11,
                       "issued": 12, "served": 6, "no_shows": 0, "wait_now_min": 12.5, "wait_p90_min": 20.0}


def test_purge_drops_old_history_but_keeps_the_newest_report(backend, backend_db):
    post(backend.url, [report(1, T0 - dt.timedelta(days=2)), report(2, T0)])
    city = city_store(backend_db)
    try:
        assert city.purge_before(T0.date() - dt.timedelta(days=1)) == 2  # one history row, one duplicate-check row
        assert [row["slot"][:10] for row in city.history("HN-TTHCC", T0 - dt.timedelta(days=3), T0 +
                                                         dt.timedelta(days=1))] == [DAY]
        assert city.centres()[0]["seq"] == 2
    finally:
        city.db.close()


def test_only_a_report_or_admin_token_sends_reports(backend):
    body = [report(1, T0)]
    assert post(backend.url, body, token=None).status_code == 401
    assert post(backend.url, body, token="not-a-token").status_code == 401
    refused = post(backend.url, body, token=KIOSK)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert post(backend.url, body, token=REPORTER).json() == {"accepted": 1, "duplicates": 0}
    assert post(backend.url, body, token=ADMIN).json() == {"accepted": 0, "duplicates": 1}


@pytest.mark.parametrize(("change", "key"), [
    (lambda r: r.update(extra=1), "reports.0.extra"),
    (lambda r: r.update(centre="bad id!"), "reports.0.centre"),
    (lambda r: r.update(seq=0), "reports.0.seq"),
    (lambda r: r.update(at="2026-12-01T09:00:00"), "reports.0.at"),  # no offset: whose 9 o'clock?
    (lambda r: r["services"][0].update(waiting=-1), "reports.0.services.0.waiting"),
    (lambda r: r["services"][0].update(name="Hộ\x00tịch"), "reports.0.services.0.name"),
    (lambda r: r.update(services=r["services"] * 2), "reports.0.services"),
    (lambda r: r.update(kiosks=r["kiosks"] * 501), "reports.0.kiosks"),
    (lambda r: r.update(name="x" * 201), "reports.0.name"),
])
def test_a_bad_report_is_a_422_naming_the_key(backend, change, key):
    bad = report(1, T0)
    change(bad)
    refused = post(backend.url, [bad])
    assert refused.status_code == 422 and refused.json()["message"].startswith(f"{key}:")


def test_a_batch_is_bounded(backend):
    assert post(backend.url, []).status_code == 422
    too_many = post(backend.url, [report(n, T0) for n in range(1, 202)])
    assert too_many.status_code == 422 and too_many.json()["message"].startswith("reports:")


# -- the queue server's figures ----------------------------------------------------------------------------------------
CENTRE = Centre("HN-TTHCC", "Trung tâm Phục vụ hành chính công Hoàn Kiếm", 30)


def services() -> list[ServiceDef]:
    """HT open around the clock (counters 1-2); CT open on Mondays only, so closed on the tests' day unless Monday."""
    return [ServiceDef(code="HT", name_vi="Hộ tịch", prefix="A", counters=[1, 2], hours="always"),
            ServiceDef(code="CT", name_vi="Cư trú", prefix="B", counters=[3],
                       hours={"mon": ["00:00-00:01"]})]


@pytest.fixture
def clock() -> WallClock:
    return WallClock(T0)


@pytest.fixture
def engine(tmp_path, clock):
    engine = QueueEngine(store_target(tmp_path / "queue.db"), services(), clock=clock)
    yield engine
    engine.close()


def test_figures_count_today_per_service_with_waits_counters_and_kiosks(engine, clock):
    tickets = [take(engine, "HT") for _ in range(4)]
    clock.advance(minutes=10)
    first = engine.call_next(1)
    clock.advance(minutes=5)
    engine.finish(first.id)
    clock.advance(minutes=5)
    second = engine.call_next(2)
    engine.no_show(second.id)
    assert [first.id, second.id] == [tickets[0].id, tickets[1].id]
    logins = CounterLogins({1: hash_pin("246813"), 3: hash_pin("135792")}, engine.db,
                           clock=lambda: clock().timestamp())
    logins.login(1, "246813")
    logins.login(3, "135792")
    Presence(engine.db).seen("K1", clock() - dt.timedelta(seconds=30))
    Presence(engine.db).seen("K2", clock() - dt.timedelta(minutes=5))
    Presence(engine.db).seen("K9", clock() - dt.timedelta(days=2))  # its token withdrawn since: no longer listed

    figures = branch_figures(engine, CENTRE, clock(), kiosks=["K1", "K3"], displays_online=2)

    assert figures["centre"] == "HN-TTHCC" and figures["target_wait_min"] == 30 and figures["at"] == \
        clock().isoformat(timespec="seconds")
    ht, ct = figures["services"]
    # waits 10 and 20 minutes: the 90th percentile (inclusive) is 19; 2 waiting × 5 min each ÷ 2 counters = 5 min
    assert ht == {"code": "HT", "name": "Hộ tịch", "waiting": 2, "virtual_waiting": 0, "issued": 4, "served": 1,
                  "no_shows": 1, "wait_now_min": 5.0, "wait_p90_min": 19.0, "counters_open": 1}
    closed = T0.weekday() != 0
    assert ct == {"code": "CT", "name": "Cư trú", "waiting": 0, "virtual_waiting": 0, "issued": 0, "served": 0,
                  "no_shows": 0, "wait_now_min": None if closed else 0.0, "wait_p90_min": None, "counters_open": 1}
    assert figures["counters_open"] == 2 and figures["displays_online"] == 2
    assert [(k["id"], k["online"], k["last_seen"] is not None) for k in figures["kiosks"]] == [
        ("K1", True, True), ("K2", False, True), ("K3", False, False)]
    BranchReport.model_validate({**figures, "seq": 1})  # what the backend accepts


def test_a_transfer_is_not_a_new_number_and_a_virtual_number_waits_apart(engine, clock):
    moved = take(engine, "HT")
    engine.transfer(moved.id, "CT")
    virtual = take(engine, "HT")
    with engine.db.transaction("queue") as conn:  # a phone number not checked in yet (the phone queue's state)
        conn.execute("UPDATE tickets SET state = 'virtual' WHERE id = ?", [virtual.id])
    ht, ct = branch_figures(engine, CENTRE, clock())["services"]
    assert (ht["issued"], ht["waiting"], ht["virtual_waiting"]) == (2, 0, 1)
    assert (ct["issued"], ct["waiting"]) == (0, 1)


# -- the outbox and the sender -----------------------------------------------------------------------------------------
def sender_for(engine: QueueEngine, clock: WallClock, url: str, token: str = REPORTER) -> CitySender:
    return CitySender(CityLink(url, token, CENTRE, interval_s=30), engine, clock=clock)


def delivered(backend_db: Path | str, order: str = "at_s, seq") -> list[int]:
    """The seqs the backend kept for the centre, in the order of their snapshot times (or ``order``)."""
    city = city_store(backend_db)
    try:
        return [row[0] for row in city.db.query(f"SELECT seq FROM city_seen WHERE centre = ? ORDER BY {order}",
                                                ["HN-TTHCC"])]
    finally:
        city.db.close()


def test_a_ten_minute_backend_outage_loses_no_report(engine, clock, backend_db, caplog):
    port = free_port()
    backend = start_in_thread(backend_db, port=port, settings=BackendSettings.beside(backend_db))
    sender = sender_for(engine, clock, backend.url)
    try:
        for _ in range(3):
            take(engine, "HT")
            sender.step()
            clock.advance(seconds=30)
        assert delivered(backend_db) == [FIRST, FIRST + 1, FIRST + 2]
        backend.stop()
        for _ in range(22):  # 11 minutes of reports with nobody answering
            take(engine, "HT")
            sender.step()
            clock.advance(seconds=30)
        assert sender.outbox.unsent() == 22
        outage_lines = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(outage_lines) == 1  # the first failure of the outage, not one line per try
        backend = start_in_thread(backend_db, port=port, settings=BackendSettings.beside(backend_db))
        for _ in range(3):  # the back-off is at most 60 s: two turns
            sender.step()
            clock.advance(seconds=30)
    finally:
        sender.stop()
        backend.stop()
    assert delivered(backend_db) == list(range(FIRST, FIRST + 28))
    assert sender.outbox.unsent() == 0
    city = city_store(backend_db)
    try:
        newest = city.centres()[0]
        assert newest["seq"] == FIRST + 27 and newest["services"][0]["issued"] == 25  # tickets 1..25, the last turns none
    finally:
        city.db.close()


def test_a_wrong_token_keeps_the_reports_and_says_so_once(engine, clock, backend, caplog):
    sender = sender_for(engine, clock, backend.url, token=KIOSK)
    try:
        for _ in range(6):
            sender.step()
            clock.advance(seconds=30)
    finally:
        sender.stop()
    assert sender.outbox.unsent() == 6
    assert len([r for r in caplog.records if "refuses this server's report token" in r.getMessage()]) == 1


def test_a_report_the_backend_refuses_is_set_aside_and_the_rest_delivered(engine, clock, backend, backend_db,
                                                                           caplog):
    sender = sender_for(engine, clock, backend.url)
    try:
        sender.snapshot()
        clock.advance(seconds=30)
        sender.snapshot()
        with engine.db.transaction("test") as conn:  # a snapshot the backend cannot take (a newer branch's field?)
            conn.execute("UPDATE city_outbox SET report = ? WHERE seq = ?", [json.dumps({"centre": "x"}), FIRST + 1])
        for _ in range(10):
            clock.advance(seconds=30)
            sender.step()
    finally:
        sender.stop()
    assert delivered(backend_db) == [FIRST, *range(FIRST + 2, FIRST + 12)]
    assert engine.db.query("SELECT seq FROM city_outbox WHERE dead = 1") == [(FIRST + 1,)]
    assert any("set aside" in r.getMessage() for r in caplog.records)


def test_old_snapshots_are_dropped_and_delivered_ones_purged(engine, clock):
    sender = sender_for(engine, clock, "http://127.0.0.1:9")  # nothing listens there
    try:
        sender.snapshot()
        clock.advance(days=1)
        sender.snapshot()
        sender.outbox.delivered([FIRST + 1], clock().timestamp())
        clock.advance(days=6, hours=1)
        assert sender.outbox.trim(clock().timestamp()) == 1  # the first: unsent for 7 days
        assert engine.db.query("SELECT seq FROM city_outbox") == []  # the second: delivered more than a day ago
        assert sender.snapshot() == FIRST + 2  # numbering goes on after the purge: the backend drops a reused seq
    finally:
        sender.stop()


# -- the real server process ---------------------------------------------------------------------------------------
def queue_serve(queue_db: Path | str, backend_url: str, data_dir: Path, *extra: str, port: int | None = None,
                token: str = REPORTER) -> ServeProcess:
    """``python main.py queue serve`` reporting to ``backend_url`` five times a second."""
    return ServeProcess("queue", "serve", "--db", str(queue_db), "--report-to", backend_url, "--report-interval",
                        "0.2", "--set", f"data_dir={data_dir}", *extra, *(("--port", str(port)) if port else ()),
                        env=server_env(QUEUE_REPORT_TOKEN=token))


def outbox_rows(queue_db: Path | str) -> list[tuple]:
    """(seq, slot, delivered) of every snapshot in the queue's outbox, read as another process would."""
    db = open_database(queue_db)
    try:
        return db.query("SELECT seq, slot, sent_at_s IS NOT NULL FROM city_outbox ORDER BY seq")
    finally:
        db.close()


def test_a_server_killed_during_an_outage_still_delivers_what_it_recorded(tmp_path, backend_db):
    port = free_port()
    backend = start_in_thread(backend_db, port=port, settings=BackendSettings.beside(backend_db))
    queue_db = store_target(tmp_path / "queue.db")
    server = queue_serve(queue_db, backend.url, tmp_path)
    try:
        eventually(lambda: len(delivered(backend_db)) >= 3, message="the first reports delivered")
        backend.stop()
        eventually(lambda: sum(not sent for _seq, _slot, sent in outbox_rows(queue_db)) >= 20,
                   message="20 snapshots kept while the backend is down")
        server.proc.kill()  # kill -9: no shutdown, no last send
        server.proc.wait(timeout=30)
        before = outbox_rows(queue_db)
        server = queue_serve(queue_db, backend.url, tmp_path)
        eventually(lambda: len(outbox_rows(queue_db)) >= len(before) + 5, message="snapshots after the restart")
        backend = start_in_thread(backend_db, port=port, settings=BackendSettings.beside(backend_db))
        eventually(lambda: len(delivered(backend_db)) >= len(before) + 5, message="the backlog delivered")
    finally:
        stderr = server.stop()
        backend.stop()
    rows = outbox_rows(queue_db)
    seqs = [seq for seq, _slot, _sent in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(rows)))
    assert delivered(backend_db) == seqs[:len(delivered(backend_db))] and set(seqs[:len(before)]) <= \
        set(delivered(backend_db))  # every snapshot recorded before the kill arrived, each once, in order
    assert "unreachable" in stderr


def test_report_to_without_a_token_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "queue", "serve", "--report-to",
                             "http://127.0.0.1:9", "--set", f"data_dir={tmp_path}"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env=server_env())
    assert result.returncode == 2 and "QUEUE_REPORT_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    bad_url = subprocess.run([sys.executable, str(ROOT / "main.py"), "queue", "serve", "--report-to", "backend:8000",
                              "--set", f"data_dir={tmp_path}"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env=server_env(QUEUE_REPORT_TOKEN=REPORTER))
    assert bad_url.returncode == 2 and "--report-to" in bad_url.stderr


def test_two_processes_on_postgresql_take_one_snapshot_per_slot(tmp_path, pg_cluster):
    backend_db = pg_cluster.fresh_database()
    store = open_store(backend_db)
    store.add_token("report", None, REPORTER)
    store.close()
    backend = start_in_thread(backend_db)
    queue_db = pg_cluster.fresh_database()
    server = queue_serve(queue_db, backend.url, tmp_path, "--workers", "2")
    try:
        eventually(lambda: len(delivered(backend_db)) >= 25, message="25 reports delivered")
    finally:
        server.stop()
        backend.stop()
    rows = outbox_rows(queue_db)
    slots = [int(slot) for _seq, slot, _sent in rows]
    assert [seq for seq, _slot, _sent in rows] == list(range(rows[0][0], rows[0][0] + len(rows)))
    # two processes may number adjacent slots in either order (whoever commits first), never one slot twice
    assert len(slots) == len(set(slots))
    assert len(slots) <= max(slots) - min(slots) + 1  # at most one per slot: two timers did not make two each
    kept = delivered(backend_db, order="seq")
    assert kept == list(range(rows[0][0], rows[0][0] + len(kept)))


def test_a_new_queue_database_numbers_above_the_one_it_replaces(tmp_path, clock, engine, backend, backend_db):
    sender = sender_for(engine, clock, backend.url)
    for _ in range(3):
        sender.step()
        clock.advance(seconds=30)
    sender.stop()
    replaced = QueueEngine(store_target(tmp_path / "new-disk.db"), services(), clock=clock)
    sender = sender_for(replaced, clock, backend.url)
    try:
        sender.step()
    finally:
        sender.stop()
        replaced.close()
    kept = delivered(backend_db)
    assert kept[:3] == [FIRST, FIRST + 1, FIRST + 2] and len(kept) == 4 and kept[3] > FIRST + 2  # not a duplicate


def test_a_content_bundle_may_set_a_centres_target_but_not_its_id():
    assert forbidden_key({"branch": {"name": "Trung tâm Ba Đình", "target_wait_min": 20}}) is None
    assert forbidden_key({"branch": {"id": "HN-OTHER"}}) == "branch.id"  # its reports would land on another centre
