"""Issuing tickets on real SQLite files: numbering, midnight reset, refusals, idempotency, concurrent processes."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from config.localtime import LOCAL_TZ
from config.services import OFFICE_HOURS, ServiceDef
from contracts import sqldb
from queueing.db import connect, schema
from queueing.engine import QueueEngine
from queueing.errors import DailyCapReached, QueueBusy, ServiceClosed, UnknownPriority, UnknownService
from queueing.estimate import DEFAULT_SERVICE_S
from tests.stores import on_postgres, store_target
from tests.support import WallClock, demo_services, open_engine, take

pytestmark = pytest.mark.stores  # the tests that open the engine on store_target run on PostgreSQL too
# processes on one PostgreSQL database: tests/test_queue_processes.py
sqlite_only = pytest.mark.skipif(on_postgres(), reason="a SQLite file's own locking")


def test_numbers_are_dense_per_service_and_formatted_with_prefix_and_digits(engine):
    numbers = [take(engine).number for _ in range(3)] + [take(engine, "CT").number, take(engine).number]
    assert numbers == ["A001", "A002", "A003", "B0001", "A004"]


@pytest.mark.parametrize(("prefix", "digits", "first", "expected"), [
    ("", 2, 7, ["07", "08"]),
    ("C", 3, 101, ["C101", "C102"]),
    ("Q", 1, 9, ["Q9", "Q10"]),  # past the digit count the number grows instead of wrapping to a duplicate
])
def test_prefix_digits_and_first_number_are_configurable(tmp_path, clock, prefix, digits, first, expected):
    service = ServiceDef(code="X", name_vi="X", prefix=prefix, digits=digits, first_number=first, hours="always")
    engine = QueueEngine(store_target(tmp_path / "q.db"), [service], clock=clock)
    assert [take(engine, "X").number for _ in range(2)] == expected


def test_ticket_carries_what_the_kiosk_prints(engine, clock):
    ticket = engine.issue("HT", request_id="r1", kiosk_id="K7", priority="elderly")
    assert re.fullmatch(r"[A-Za-z0-9_-]{12}", ticket.id)
    assert (ticket.service, ticket.priority, ticket.state, ticket.counter, ticket.kiosk_id) == \
        ("HT", "elderly", "waiting", None, "K7")
    assert ticket.issued_at == clock.now and ticket.issued_at.tzinfo is not None
    assert engine.ticket(ticket.id) == ticket


def test_ticket_ids_are_not_derived_from_numbers(engine):
    ids = {take(engine).id for _ in range(50)}
    assert len(ids) == 50


def test_same_request_id_returns_the_same_ticket_in_process_and_after_reopening(tmp_path, clock):
    engine = open_engine(tmp_path / "queue.db", clock)
    first = engine.issue("HT", request_id="tap-1")
    assert engine.issue("HT", request_id="tap-1") == first
    engine.close()
    reopened = open_engine(tmp_path / "queue.db", clock)
    assert reopened.issue("HT", request_id="tap-1").id == first.id
    assert reopened.issue("HT", request_id="tap-2").number == "A002"


def test_a_retry_after_closing_time_still_gets_its_ticket(tmp_path, clock):
    engine = open_engine(tmp_path / "q.db", clock, hours={"tue": ["08:00-09:30"]})
    first = engine.issue("HT", request_id="slow-network")
    clock.advance(hours=1)
    assert engine.issue("HT", request_id="slow-network").id == first.id
    with pytest.raises(ServiceClosed):
        take(engine)


def _statements(monkeypatch) -> list[str]:
    """The statements the engine runs from now on, besides its transactions' own (begin, lock, commit)."""
    seen: list[str] = []
    for cls, run in ((sqldb.SqliteConnection, sqlite3.Connection.execute),
                     (sqldb._PgConnection, sqldb._PgConnection.execute)):
        def counted(conn, sql, parameters=(), run=run):
            if not re.match(r"(BEGIN|COMMIT|ROLLBACK|PRAGMA)\b", sql):
                seen.append(" ".join(sql.split()[:3]))
            return run(conn, sql, parameters)
        monkeypatch.setattr(cls, "execute", counted)
    return seen


def test_a_ticket_costs_two_statements_besides_its_transaction(engine, monkeypatch):
    take(engine), take(engine)  # not the day's first number; the estimate's inputs read once (1 ahead)
    seen = _statements(monkeypatch)
    ticket = engine.issue("HT", request_id="counted")
    # the number with the people ahead (UPDATE … RETURNING), the ticket (INSERT … RETURNING): each a round trip on
    # PostgreSQL; no read-back of the ticket, no separate idempotency check, the estimate's inputs kept
    assert seen == ["UPDATE day_sequences SET", "INSERT INTO tickets"]
    assert (ticket.number, ticket.people_ahead, ticket.estimated_wait_s) == ("A003", 2, DEFAULT_SERVICE_S)
    assert engine.issue("HT", request_id="counted") == ticket  # a retry: the insert tells, the number rolls back
    assert take(engine).number == "A004"


@pytest.mark.parametrize("later", [1, 20])  # fewer than estimate.FIRST_PROBE queued after it, or more
def test_people_ahead_of_a_new_ticket_leave_out_those_queued_after_it(tmp_path, clock, later):
    """Another process whose clock is a little ahead queued tickets after the new one's time: they are behind it."""
    target = store_target(tmp_path / "queue.db")
    fast = WallClock(clock.now + timedelta(minutes=1))
    here, ahead_of_time = open_engine(target, clock), open_engine(target, fast)
    try:
        before = [take(here) for _ in range(3)] + [take(here, priority="elderly")]
        for _ in range(later):
            take(ahead_of_time)
        clock.advance(seconds=1)
        new = take(here)
        assert new.people_ahead == here.ticket(new.id).people_ahead == len(before)  # as counted once it joined
        new_priority = take(here, priority="pregnant")
        assert new_priority.people_ahead == here.ticket(new_priority.id).people_ahead == 1
    finally:
        here.close()
        ahead_of_time.close()


def test_numbering_resets_at_local_midnight(engine, clock):
    clock.now = datetime(2026, 11, 24, 23, 59, 30, tzinfo=LOCAL_TZ)
    assert [take(engine).number for _ in range(2)] == ["A001", "A002"]
    clock.advance(seconds=31)  # 00:00:01 local is still 17:00 UTC of the previous day
    assert clock.now.astimezone(LOCAL_TZ).date().isoformat() == "2026-11-25"
    assert take(engine).number == "A001"
    assert {s.code: s.waiting for s in engine.services_overview()}["HT"] == 1


def test_midnight_is_local_whatever_zone_the_clock_reports(engine, clock):
    from zoneinfo import ZoneInfo

    clock.now = datetime(2026, 11, 24, 16, 59, tzinfo=ZoneInfo("UTC"))  # 23:59 in Hà Nội
    assert take(engine).number == "A001"
    clock.advance(minutes=1)  # 17:00 UTC = 00:00 local
    ticket = take(engine)
    assert ticket.number == "A001" and ticket.issued_at.utcoffset().total_seconds() == 7 * 3600


@pytest.mark.parametrize(("now", "opens"), [
    (datetime(2026, 11, 24, 12, 0), datetime(2026, 11, 24, 13, 30)),   # Tuesday lunch break
    (datetime(2026, 11, 24, 7, 59), datetime(2026, 11, 24, 8, 0)),     # before opening
    (datetime(2026, 11, 24, 17, 0), datetime(2026, 11, 25, 8, 0)),     # the minute it closes
    (datetime(2026, 11, 28, 12, 0), datetime(2026, 11, 30, 8, 0)),     # Saturday afternoon → Monday
])
def test_closed_service_refuses_and_names_the_next_opening(tmp_path, clock, now, opens):
    engine = open_engine(tmp_path / "q.db", clock, hours=OFFICE_HOURS)
    clock.now = now.replace(tzinfo=LOCAL_TZ)
    with pytest.raises(ServiceClosed) as refusal:
        take(engine)
    assert refusal.value.next_opening == opens.replace(tzinfo=LOCAL_TZ)
    overview = {s.code: s for s in engine.services_overview()}
    assert (overview["HT"].open_now, overview["HT"].next_opening) == (False, refusal.value.next_opening)
    assert overview["CT"].open_now and overview["CT"].next_opening is None


def test_daily_cap_refuses_then_resets_the_next_day(tmp_path, clock):
    engine = open_engine(store_target(tmp_path / "q.db"), clock, daily_cap=2)
    first = engine.issue("HT", request_id="first")
    take(engine)
    with pytest.raises(DailyCapReached):
        take(engine)
    assert engine.issue("HT", request_id="first") == first  # a retry gets its ticket, the cap reached or not
    assert engine.db.query("SELECT next_seq, allocated FROM day_sequences WHERE service = 'HT'") == [(3, 2)]
    assert take(engine, "CT").number == "B0001"  # the cap is per service
    clock.advance(days=1)
    assert take(engine).number == "A001"


@pytest.mark.parametrize(("service", "priority", "error"), [
    ("ZZ", None, UnknownService),
    ("HT", "vip", UnknownPriority),
])
def test_unknown_service_or_priority_is_refused_without_using_a_number(engine, service, priority, error):
    with pytest.raises(error):
        take(engine, service, priority)
    assert take(engine).number == "A001"


def test_booking_check_in_is_a_booking_priority_ticket(engine):
    ticket = engine.issue("HT", request_id="b1", booking_code="BK-2026-001")
    assert ticket.priority == "booking"


def test_migrations_are_recorded_by_name_and_applied_once(tmp_path):
    target = store_target(tmp_path / "q.db")
    db = connect(target)
    assert [name for (name,) in db.query("SELECT name FROM _migrations ORDER BY rowid")] == schema.names()
    again = connect(target)
    assert again.migrate(schema) == []
    for table in ("tickets", "day_sequences", "number_blocks", "line_counts", "counter_tokens", "kiosk_presence"):
        assert db.query(f"SELECT COUNT(*) FROM {table}") == [(0,)]
    if db.dialect == "sqlite":
        assert db.query("PRAGMA journal_mode") == [("wal",)]


@pytest.mark.parametrize(("synchronous", "pragma_value"), [("NORMAL", 1), ("FULL", 2)])
def test_durability_setting_is_applied(tmp_path, synchronous, pragma_value):
    db = connect(tmp_path / "q.db", synchronous)
    with db.connection() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == pragma_value


def test_unknown_durability_setting_is_refused(tmp_path):
    with pytest.raises(ValueError):
        connect(tmp_path / "q.db", "OFF")  # type: ignore[arg-type]


@sqlite_only
def test_a_database_locked_past_the_busy_timeout_is_a_named_error(tmp_path, clock, monkeypatch):
    engine = open_engine(tmp_path / "q.db", clock)
    holder = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process stuck inside a write
    monkeypatch.setattr(sqldb, "BUSY_TIMEOUT_S", 0.05)
    with pytest.raises(QueueBusy):
        take(engine)
    holder.execute("ROLLBACK")
    assert take(engine).number == "A001"


def test_threads_sharing_one_engine_get_distinct_dense_numbers(engine):
    with ThreadPoolExecutor(4) as pool:
        numbers = list(pool.map(lambda i: engine.issue("HT", request_id=f"t{i}").number, range(80)))
    assert sorted(numbers) == [f"A{i:03d}" for i in range(1, 81)]


def _issue_many(path: str, worker: int, count: int) -> list[tuple[str, str]]:
    engine = QueueEngine(path, demo_services())
    issued = []
    for i in range(count):
        ticket = engine.issue("HT" if i % 3 else "CT", request_id=f"w{worker}-{i}", kiosk_id=f"K{worker}")
        issued.append((ticket.service, ticket.number))
    # a retried request from this process after others issued: still the same ticket
    assert engine.issue("CT", request_id=f"w{worker}-0").number == issued[0][1]
    return issued


@sqlite_only
def test_four_processes_issue_concurrently_without_duplicates_and_densely(tmp_path):
    path = str(tmp_path / "shared.db")
    QueueEngine(path, demo_services()).close()
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(_issue_many, [(path, w, 60) for w in range(4)])
    issued = [pair for chunk in results for pair in chunk]
    by_service = {code: sorted(n for s, n in issued if s == code) for code in ("HT", "CT")}
    assert len(set(issued)) == len(issued) == 240
    assert by_service["HT"] == [f"A{i:03d}" for i in range(1, 161)]
    assert by_service["CT"] == [f"B{i:04d}" for i in range(1, 81)]
    engine = QueueEngine(path, demo_services())
    assert engine.issue("CT", request_id="w2-0").number == results[2][0][1]  # a retry reaching another process
