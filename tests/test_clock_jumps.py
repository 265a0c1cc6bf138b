"""The wall clock stepping back or forward an hour (an NTP correction) while the kiosk runs.

Daily numbering and the order of the line come from the engine's wall clock; the session's idle timeout, the
technician PIN lockout and the watchdog run on the monotonic clock, which NTP never steps.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from config.localtime import LOCAL_TZ
from kiosk.cli.embedded import open_backend
from kiosk.core import KioskCore
from kiosk.session import IdleState, Session
from tests.support import WallClock, open_engine, take


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 11, 24, 10, 0, tzinfo=LOCAL_TZ))


@pytest.fixture
def engine(tmp_path, clock):
    engine = open_engine(tmp_path / "queue.db", clock)
    yield engine
    engine.close()


def test_a_step_back_within_the_day_neither_restarts_nor_repeats_numbers(engine, clock):
    before = [take(engine).number for _ in range(3)]
    clock.advance(hours=-1)
    after = [take(engine).number for _ in range(3)]
    assert before + after == ["A001", "A002", "A003", "A004", "A005", "A006"]


def test_a_step_back_keeps_the_line_in_issue_order(engine, clock):
    """GIVEN two citizens took numbers at 10:00 WHEN the clock steps back to 9:00 and a third takes one THEN the
    third is told two people are ahead and is called last."""
    issued = [take(engine), take(engine)]
    clock.advance(hours=-1)
    issued.append(take(engine))
    assert issued[2].people_ahead == 2
    assert issued[2].issued_at >= issued[1].issued_at
    called = []
    for _ in issued:
        ticket = engine.call_next(1)
        called.append(ticket.number)
        engine.finish(ticket.id)
    assert called == ["A001", "A002", "A003"]


def test_time_stands_still_until_the_clock_catches_up_then_follows_it(engine, clock):
    first = take(engine)
    clock.advance(hours=-1)
    assert take(engine).issued_at == first.issued_at
    clock.advance(hours=1, minutes=5)
    assert take(engine).issued_at == clock.now


def test_a_step_back_across_midnight_stays_on_the_new_day(tmp_path):
    clock = WallClock(datetime(2026, 11, 25, 0, 20, tzinfo=LOCAL_TZ))
    engine = open_engine(tmp_path / "queue.db", clock)
    take(engine)
    clock.advance(hours=-1)  # 23:20 of the day before
    ticket = take(engine)
    engine.close()
    assert (ticket.number, ticket.issued_at.date().isoformat()) == ("A002", "2026-11-25")


def test_a_step_forward_an_hour_continues_the_numbers_at_the_new_time(engine, clock):
    take(engine)
    clock.advance(hours=1)
    ticket = take(engine)
    assert (ticket.number, ticket.issued_at) == ("A002", clock.now)


def test_a_large_step_back_is_followed_rather_than_held(engine, clock):
    """A clock that was hours ahead was simply wrong: after the correction, tickets carry the right time."""
    take(engine)
    clock.advance(hours=-5)
    ticket = take(engine)
    assert (ticket.number, ticket.issued_at) == ("A002", clock.now)


def test_session_pin_lockout_and_watchdog_read_the_monotonic_clock(kiosk_config):
    core = KioskCore(kiosk_config, backend=open_backend)
    try:
        assert core.session._clock is time.monotonic
        assert core.pin_gate._clock is time.monotonic
        assert core.watchdog._clock is time.monotonic
    finally:
        core.close()


@pytest.mark.parametrize("jump_s", [-3600, 3600])
def test_a_wall_clock_jump_neither_expires_nor_extends_a_session(monkeypatch, fake_clock, jump_s):
    session = Session(warning_s=60, reset_s=30, clock=fake_clock)
    session.start()
    fake_clock.advance(50)
    wall = time.time()
    monkeypatch.setattr(time, "time", lambda: wall + jump_s)
    assert (session.state, session.seconds_left()) == (IdleState.ACTIVE, 40)
    fake_clock.advance(40)
    assert session.expired()
