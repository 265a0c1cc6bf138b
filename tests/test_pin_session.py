"""Technician PIN hashing and lockout; the citizen session's idle timer and wipe."""

from __future__ import annotations

from contracts.pin import PinGate, hash_pin, verify_pin
from kiosk.session import IdleState, Session


def test_pin_hash_is_salted_and_verifies():
    first, second = hash_pin("246810"), hash_pin("246810")
    assert first != second and "246810" not in first
    assert verify_pin("246810", first) and verify_pin("246810", second)
    assert not verify_pin("246811", first)


def test_malformed_stored_hash_never_matches():
    assert not verify_pin("1234", "scrypt$x$y")
    assert not verify_pin("1234", "")


def test_wrong_pins_count_down_then_lock_out_even_the_right_pin(fake_clock):
    gate = PinGate(hash_pin("1357"), max_attempts=3, lockout_s=300, clock=fake_clock)
    assert gate.check("0000").attempts_left == 2
    assert gate.check("0000").attempts_left == 1
    locked = gate.check("0000")
    assert not locked.ok and locked.locked_for_s == 300
    assert not gate.check("1357").ok
    fake_clock.advance(299)
    assert gate.locked_for() == 1
    fake_clock.advance(1)
    assert gate.check("1357").ok


def test_session_is_idle_until_started_and_warns_then_expires(fake_clock):
    session = Session(warning_s=60, reset_s=15, clock=fake_clock)
    fake_clock.advance(1000)
    assert session.state is IdleState.IDLE and not session.expired()
    session.start()
    fake_clock.advance(59)
    assert session.state is IdleState.ACTIVE
    fake_clock.advance(1)
    assert session.state is IdleState.WARNING and session.seconds_left() == 15
    session.touch()
    assert session.state is IdleState.ACTIVE
    fake_clock.advance(75)
    assert session.expired()


def test_end_wipes_data_and_notifies(fake_clock):
    session = Session(60, 15, clock=fake_clock)
    wiped = []
    session.on_wipe(lambda: wiped.append(True))
    session.start()
    session.data.update(cccd="001099012345", phone="0912345678")
    session.end()
    assert session.data == {} and wiped == [True] and session.state is IdleState.IDLE
