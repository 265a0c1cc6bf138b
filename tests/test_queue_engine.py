"""The queue engine on real SQLite files: numbering, midnight reset, priority policy, states, refusals, estimates."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import datetime, timedelta

import pytest

from queueing.engine import QueueEngine
from queueing.errors import (
    CounterBusy, DailyCapReached, InvalidTransition, ServiceClosed, UnknownService,
)
from queueing.report import day_report
from queueing.services import LOCAL_TZ, ServiceDef

OFFICE_HOURS = {d: ["07:30-11:30", "13:30-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def services(**overrides) -> list[ServiceDef]:
    return [
        ServiceDef(code="HT", name_vi="Hộ tịch", prefix="A", counters=[1, 2], **overrides),
        ServiceDef(code="CT", name_vi="Cư trú", prefix="B", digits=4, first_number=1, counters=[3]),
    ]


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 9, 0, tzinfo=LOCAL_TZ))  # a Tuesday


@pytest.fixture
def engine(tmp_path, clock) -> QueueEngine:
    return QueueEngine(tmp_path / "queue.db", services(), clock=clock, max_priority_in_row=2)


def take(engine, service="HT", priority=None, rid=[0]):
    rid[0] += 1
    return engine.issue(service, request_id=f"req-{rid[0]}", priority=priority, kiosk_id="K1")


def test_numbers_are_dense_per_service_and_formatted(engine):
    numbers = [take(engine).number for _ in range(3)] + [take(engine, "CT").number]
    assert numbers == ["A001", "A002", "A003", "B0001"]


def test_first_number_is_configurable(tmp_path, clock):
    engine = QueueEngine(tmp_path / "q.db", [ServiceDef(code="X", name_vi="X", prefix="", digits=2,
                                                        first_number=7)], clock=clock)
    assert [take(engine, "X").number for _ in range(2)] == ["07", "08"]


def test_same_request_id_returns_the_same_ticket_even_after_reopening(tmp_path, clock):
    engine = QueueEngine(tmp_path / "queue.db", services(), clock=clock)
    first = engine.issue("HT", request_id="tap-1")
    assert engine.issue("HT", request_id="tap-1").id == first.id
    engine.close()
    reopened = QueueEngine(tmp_path / "queue.db", services(), clock=clock)
    assert reopened.issue("HT", request_id="tap-1").id == first.id
    assert reopened.issue("HT", request_id="tap-2").number == "A002"


def test_numbering_resets_at_local_midnight(engine, clock):
    clock.now = datetime(2026, 11, 24, 23, 59, 30, tzinfo=LOCAL_TZ)
    assert [take(engine).number for _ in range(2)] == ["A001", "A002"]
    clock.advance(seconds=31)  # 00:00:01 local, still 17:00 UTC the previous day
    assert clock.now.astimezone(LOCAL_TZ).date().isoformat() == "2026-11-25"
    assert take(engine).number == "A001"
    assert [s.waiting for s in engine.services_overview() if s.code == "HT"] == [1]


def test_closed_service_refuses_with_next_opening(tmp_path, clock):
    engine = QueueEngine(tmp_path / "q.db", services(hours=OFFICE_HOURS), clock=clock)
    clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=LOCAL_TZ)
    with pytest.raises(ServiceClosed) as err:
        take(engine)
    assert err.value.next_opening == datetime(2026, 11, 24, 13, 30, tzinfo=LOCAL_TZ)
    clock.now = datetime(2026, 11, 28, 9, 0, tzinfo=LOCAL_TZ)  # Saturday
    with pytest.raises(ServiceClosed) as err:
        take(engine)
    assert err.value.next_opening == datetime(2026, 11, 30, 7, 30, tzinfo=LOCAL_TZ)
    overview = {s.code: s for s in engine.services_overview()}
    assert not overview["HT"].open_now and overview["CT"].open_now


def test_daily_cap_refuses_then_resets_next_day(tmp_path, clock):
    engine = QueueEngine(tmp_path / "q.db", services(daily_cap=2), clock=clock)
    take(engine), take(engine)
    with pytest.raises(DailyCapReached):
        take(engine)
    clock.advance(days=1)
    assert take(engine).number == "A001"


def test_unknown_service_and_priority(engine):
    with pytest.raises(UnknownService):
        take(engine, "ZZ")
    with pytest.raises(ValueError):
        take(engine, priority="vip")


def test_priority_first_but_at_most_n_in_a_row(engine, clock):
    normal = [take(engine) for _ in range(2)]
    clock.advance(minutes=1)
    prio = [take(engine, priority="elderly") for _ in range(3)]
    called = []
    for _ in range(5):
        ticket = engine.call_next(1)
        called.append(ticket.number)
        engine.finish(ticket.id)
    # two priority calls, then the oldest ordinary ticket, then the remaining priority, then ordinary
    assert called == [prio[0].number, prio[1].number, normal[0].number, prio[2].number, normal[1].number]
    assert engine.call_next(1) is None


def test_people_ahead_and_estimate_default(engine):
    tickets = [take(engine) for _ in range(3)]
    assert [t.people_ahead for t in tickets] == [0, 1, 2]
    assert tickets[2].estimated_wait_s == 2 * 300 // 2  # default 5 min each, two counters configured
    assert take(engine, priority="pregnant").people_ahead == 0


def test_estimate_uses_recent_service_times(engine, clock):
    for _ in range(3):
        take(engine)
    for _ in range(2):
        ticket = engine.call_next(1)
        engine.start(ticket.id)
        clock.advance(minutes=2)
        engine.finish(ticket.id)
    # one citizen still ahead × average service 120 s ÷ one counter active today
    latest = engine.ticket(take(engine).id)
    assert latest.people_ahead == 1 and latest.estimated_wait_s == 120


def test_states_and_invalid_transitions(engine):
    ticket = take(engine)
    with pytest.raises(InvalidTransition):
        engine.finish(ticket.id)
    called = engine.call_next(2)
    assert called.id == ticket.id and called.state == "called" and called.counter == 2
    with pytest.raises(CounterBusy):
        engine.call_next(2)
    assert engine.recall(ticket.id).state == "called"
    assert engine.no_show(ticket.id).state == "no_show"
    with pytest.raises(InvalidTransition):
        engine.start(ticket.id)


def test_transfer_keeps_original_place_in_the_new_service(engine, clock):
    early = take(engine, "HT")
    clock.advance(minutes=5)
    later = take(engine, "CT")
    engine.call_next(1)
    moved = engine.transfer(early.id, "CT")
    assert moved.number == early.number and moved.service == "CT" and moved.state == "waiting"
    assert [t.id for t in engine.waiting("CT")] == [moved.id, later.id]
    assert engine.ticket(early.id).state == "transferred"
    assert engine.call_next(3).id == moved.id


def test_report_counts_no_shows_and_times(engine, clock):
    a, b = take(engine), take(engine)
    clock.advance(minutes=10)
    t = engine.call_next(1)
    engine.start(t.id)
    clock.advance(minutes=4)
    engine.finish(t.id)
    engine.no_show(engine.call_next(1).id)
    report = day_report(engine, clock.now.date())
    row = report["services"][0]
    assert (row["service"], row["tickets"], row["no_shows"]) == ("HT", 2, 1)
    assert row["service_avg_s"] == 240 and row["wait_avg_s"] == pytest.approx(720)
    assert report["counters"][0]["counter"] == 1


def _issue_many(path: str, worker: int, count: int) -> list[str]:
    engine = QueueEngine(path, services())
    return [engine.issue("HT", request_id=f"w{worker}-{i}", kiosk_id=f"K{worker}").number for i in range(count)]


def test_four_processes_issue_concurrently_without_duplicates(tmp_path):
    path = str(tmp_path / "shared.db")
    QueueEngine(path, services()).close()  # migrate once before the race
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.starmap(_issue_many, [(path, w, 50) for w in range(4)])
    numbers = [n for chunk in results for n in chunk]
    assert len(numbers) == 200
    assert Counter(numbers).most_common(1)[0][1] == 1
    assert sorted(numbers) == [f"A{i:03d}" for i in range(1, 201)]
