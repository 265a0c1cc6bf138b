"""Number blocks leased to kiosks for offline use, and the offline tickets reported back (real SQLite files)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from queueing.errors import DailyCapReached, NotToday, NotYourBlock, NumberNotLeased, UnknownBlock
from tests.stores import store_target
from tests.support import WallClock, open_engine, take

pytestmark = pytest.mark.stores  # each test opens the engine on store_target: SQLite, then PostgreSQL


def test_blocks_and_online_numbers_never_collide(engine, clock):
    assert take(engine).number == "A001"
    block_k2 = engine.reserve_block("HT", 10, holder="K2")
    block_k3 = engine.reserve_block("HT", 5, holder="K3")
    after = take(engine)
    assert (block_k2.first_seq, block_k2.last_seq, block_k3.first_seq, block_k3.last_seq) == (2, 11, 12, 16)
    assert after.number == "A017"
    assert [block_k2.number(seq) for seq in (2, 11)] == ["A002", "A011"]
    assert block_k2.day == clock.now.date() and block_k2.size == 10


def test_offline_tickets_join_the_line_by_their_issue_time(engine, clock):
    block = engine.reserve_block("HT", 5, holder="K2")
    offline_at = clock.now + timedelta(minutes=1)
    clock.advance(minutes=2)
    online = take(engine)
    clock.advance(minutes=30)  # the kiosk's link comes back
    offline = engine.record_offline(block.id, "HT", block.first_seq, request_id="K2-1", issued_at=offline_at)
    assert (offline.number, offline.kiosk_id, offline.issued_at) == ("A001", "K2", offline_at)
    assert [t.id for t in engine.waiting("HT")] == [offline.id, online.id]
    assert engine.ticket(online.id).people_ahead == 1


def test_reporting_an_offline_ticket_twice_returns_the_same_ticket(engine, clock):
    block = engine.reserve_block("HT", 3, holder="K2")
    first = engine.record_offline(block.id, "HT", 2, request_id="K2-7", issued_at=clock.now)
    assert engine.record_offline(block.id, "HT", 2, request_id="K2-7", issued_at=clock.now) == first


@pytest.mark.parametrize(("seq", "shift"), [
    (4, timedelta()),              # outside the block 1..3
    (0, timedelta()),
    (2, timedelta(days=1)),        # issued on another day than the lease
])
def test_offline_numbers_outside_the_lease_are_refused(engine, clock, seq, shift):
    block = engine.reserve_block("HT", 3, holder="K2")
    with pytest.raises(NumberNotLeased):
        engine.record_offline(block.id, "HT", seq, request_id="K2-x", issued_at=clock.now + shift)
    assert engine.waiting("HT") == []


def test_a_number_reported_under_two_request_ids_is_refused(engine, clock):
    block = engine.reserve_block("HT", 3, holder="K2")
    engine.record_offline(block.id, "HT", 1, request_id="K2-a", issued_at=clock.now)
    with pytest.raises(NumberNotLeased, match="already"):
        engine.record_offline(block.id, "HT", 1, request_id="K2-b", issued_at=clock.now)


@pytest.mark.parametrize(("block_id", "service"), [("never-leased", "HT"), (None, "CT")])
def test_unknown_block_or_block_of_another_service_is_refused(engine, clock, block_id, service):
    leased = engine.reserve_block("HT", 3, holder="K2")
    with pytest.raises(UnknownBlock):
        engine.record_offline(block_id or leased.id, service, 1, request_id="K2-z", issued_at=clock.now)


def test_blocks_count_towards_the_daily_cap_and_are_cut_short_by_it(tmp_path, clock):
    engine = open_engine(store_target(tmp_path / "q.db"), clock, daily_cap=5)
    take(engine)
    block = engine.reserve_block("HT", 10, holder="K2")
    assert (block.first_seq, block.last_seq) == (2, 5)
    with pytest.raises(DailyCapReached):
        take(engine)
    with pytest.raises(DailyCapReached):
        engine.reserve_block("HT", 1, holder="K3")


@pytest.mark.parametrize("days", [1, -1, 30])
def test_a_block_for_another_day_is_refused_and_burns_nothing(engine, clock, days):
    with pytest.raises(NotToday, match="today"):
        engine.reserve_block("HT", 4, holder="K2", day=(clock.now + timedelta(days=days)).date())
    clock.now = datetime.combine((clock.now + timedelta(days=days)).date(), clock.now.timetz())
    assert take(engine).number == "A001"


def test_yesterdays_block_takes_no_tickets_today(engine, clock):
    block = engine.reserve_block("HT", 4, holder="K2")
    clock.advance(days=1)
    with pytest.raises(NotToday):
        engine.record_offline(block.id, "HT", 1, request_id="K2-old", issued_at=clock.now)


def test_only_the_holder_reports_tickets_of_its_block(engine, clock):
    block = engine.reserve_block("HT", 4, holder="K2")
    with pytest.raises(NotYourBlock, match="K2"):
        engine.record_offline(block.id, "HT", 1, request_id="K3-1", issued_at=clock.now, kiosk="K3")
    assert engine.record_offline(block.id, "HT", 1, request_id="K2-1", issued_at=clock.now, kiosk="K2").number \
        == "A001"


@pytest.mark.parametrize("shift", [timedelta(minutes=-6), timedelta(minutes=16)])
def test_an_offline_ticket_outside_its_lease_time_is_refused(engine, clock, shift):
    """Issued before the block was leased, or after now (5 minutes of clock skew allowed either way)."""
    block = engine.reserve_block("HT", 4, holder="K2")
    clock.advance(minutes=10)
    with pytest.raises(NumberNotLeased, match="leased"):
        engine.record_offline(block.id, "HT", 1, request_id="K2-t", issued_at=block_time(clock, shift))


def test_a_late_offline_ticket_joins_the_end_of_the_line(engine, clock):
    block = engine.reserve_block("HT", 4, holder="K2")
    issued_at = clock.now + timedelta(minutes=1)
    clock.advance(minutes=5)
    online = take(engine)
    clock.advance(minutes=30)
    late = engine.record_offline(block.id, "HT", 1, request_id="K2-l", issued_at=issued_at, late=True)
    assert late.issued_at == issued_at and [t.id for t in engine.waiting("HT")] == [online.id, late.id]


def block_time(clock: WallClock, shift: timedelta) -> datetime:
    """``shift`` from the moment the block was leased (ten minutes before ``clock``)."""
    return clock.now - timedelta(minutes=10) + shift


def test_a_block_needs_at_least_one_number(engine):
    with pytest.raises(ValueError):
        engine.reserve_block("HT", 0, holder="K2")
