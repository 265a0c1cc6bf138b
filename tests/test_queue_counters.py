"""The counter side on a real SQLite file: priority policy, states, transfer, estimates, status and the report."""

from __future__ import annotations

import pytest

from queueing.engine import QueueEngine
from queueing.errors import CounterBusy, InvalidTransition, UnknownService, UnknownTicket
from queueing.estimate import DEFAULT_SERVICE_S, WaitInputs
from queueing.models import Ticket
from tests.stores import store_target
from tests.support import eventually, open_engine, take

pytestmark = pytest.mark.stores  # each test opens the engine on store_target: SQLite, then PostgreSQL


def serve_next(engine: QueueEngine, counter: int = 1) -> Ticket:
    ticket = engine.call_next(counter)
    assert ticket is not None
    engine.finish(ticket.id)
    return ticket


def test_priority_first_but_at_most_n_in_a_row_then_one_ordinary(engine, clock):
    normal = [take(engine) for _ in range(2)]
    clock.advance(minutes=1)
    prio = [take(engine, priority=p) for p in ("elderly", "pregnant", "disabled")]
    called = [serve_next(engine).id for _ in range(5)]
    assert called == [prio[0].id, prio[1].id, normal[0].id, prio[2].id, normal[1].id]
    assert engine.call_next(1) is None


def test_priority_line_continues_when_nobody_ordinary_waits(engine):
    prio = [take(engine, priority="merit") for _ in range(4)]
    assert [serve_next(engine).id for _ in range(4)] == [t.id for t in prio]


def test_priority_streak_is_per_counter(engine):
    prio = [take(engine, priority="child_under_6") for _ in range(3)]
    normal = take(engine)
    assert [serve_next(engine, 1).id for _ in range(2)] == [prio[0].id, prio[1].id]
    assert serve_next(engine, 2).id == prio[2].id  # counter 2 has no streak yet
    assert serve_next(engine, 1).id == normal.id


def test_counter_calls_only_the_services_it_serves(engine):
    ht, ct = take(engine, "HT"), take(engine, "CT")
    assert engine.call_next(3).id == ct.id       # counter 3 is configured for CT only
    assert engine.call_next(1, ["HT", "CT"]).id == ht.id
    with pytest.raises(UnknownService):
        engine.call_next(2, ["ZZ"])


def test_a_counter_has_at_most_one_current_ticket(engine):
    first, second = take(engine), take(engine)
    assert engine.call_next(1).id == first.id
    with pytest.raises(CounterBusy):
        engine.call_next(1)
    assert engine.current(1).id == first.id
    engine.skip(first.id)
    assert engine.call_next(1).id == second.id


def test_states_through_a_normal_visit(engine, clock):
    ticket = take(engine)
    called = engine.call_next(2)
    assert (called.id, called.state, called.counter, called.people_ahead) == (ticket.id, "called", 2, 0)
    assert engine.recall(ticket.id).state == "called"
    assert engine.start(ticket.id).state == "serving"
    assert engine.finish(ticket.id).state == "done"
    assert engine.current(2) is None


def act(engine: QueueEngine, ticket_id: str, action: str) -> None:
    if action == "call":
        engine.call_next(1)
    elif action == "transfer":
        engine.transfer(ticket_id, "CT")
    else:
        getattr(engine, action)(ticket_id)


@pytest.mark.parametrize(("steps", "action"), [
    ([], "start"),                          # nobody called it
    ([], "finish"),
    ([], "recall"),
    ([], "no_show"),
    (["call", "start"], "no_show"),         # the citizen is already at the counter
    (["call", "start"], "recall"),
    (["call", "no_show"], "start"),
    (["call", "no_show"], "transfer"),
    (["call", "finish"], "finish"),
    (["call", "finish"], "transfer"),
    (["call", "transfer"], "finish"),       # the old ticket is closed; the new one waits in CT
])
def test_invalid_transitions_raise_a_named_error_and_change_nothing(engine, steps, action):
    ticket = take(engine)
    for step in steps:
        act(engine, ticket.id, step)
    before = engine.ticket(ticket.id).state
    with pytest.raises(InvalidTransition):
        act(engine, ticket.id, action)
    assert engine.ticket(ticket.id).state == before


def test_unknown_ticket_is_a_named_error(engine):
    with pytest.raises(UnknownTicket):
        engine.ticket("no-such-ticket")


def test_no_show_frees_the_counter_and_is_counted(engine, clock):
    ticket = take(engine)
    engine.call_next(1)
    assert engine.no_show(ticket.id).state == "no_show"
    row = engine.report(clock.now.date())["services"][0]
    assert (row["tickets"], row["no_shows"]) == (1, 1)
    assert engine.current(1) is None


@pytest.mark.parametrize("called_first", [True, False])
def test_transfer_keeps_number_and_original_place_in_the_new_service(engine, clock, called_first):
    early = take(engine, "HT")
    clock.advance(minutes=5)
    later = take(engine, "CT")
    if called_first:
        assert engine.call_next(1).id == early.id
    moved = engine.transfer(early.id, "CT")
    assert (moved.number, moved.service, moved.state, moved.people_ahead) == (early.number, "CT", "waiting", 0)
    assert moved.issued_at == early.issued_at
    assert [t.id for t in engine.waiting("CT")] == [moved.id, later.id]
    assert engine.ticket(later.id).people_ahead == 1
    assert engine.ticket(early.id).state == "transferred"
    assert engine.current(1) is None
    assert engine.call_next(3).id == moved.id


def test_transfer_to_the_same_service_is_refused(engine):
    ticket = take(engine)
    with pytest.raises(InvalidTransition):
        engine.transfer(ticket.id, "HT")


def test_waiting_tickets_of_yesterday_are_not_called_today(engine, clock):
    take(engine)
    clock.advance(days=1)
    assert engine.call_next(1) is None
    assert engine.waiting("HT") == []


def test_people_ahead_counts_priority_before_ordinary(engine):
    normal = [take(engine) for _ in range(3)]
    prio = take(engine, priority="pregnant")
    assert [engine.ticket(t.id).people_ahead for t in normal] == [1, 2, 3]
    assert prio.people_ahead == 0
    assert [t.id for t in engine.waiting("HT")] == [prio.id] + [t.id for t in normal]


def test_estimate_before_any_data_uses_the_default_over_configured_counters(engine):
    tickets = [take(engine) for _ in range(3)]
    # HT has two configured counters and no finished ticket yet
    assert [t.estimated_wait_s for t in tickets] == [0, DEFAULT_SERVICE_S // 2, 2 * DEFAULT_SERVICE_S // 2]


def test_estimate_after_data_uses_recent_service_times_and_active_counters(engine, clock):
    for _ in range(4):
        take(engine)
    for minutes in (2, 4):
        ticket = engine.call_next(1)
        engine.start(ticket.id)
        clock.advance(minutes=minutes)
        engine.finish(ticket.id)
    waiting = engine.waiting("HT")
    # average 3 min; only counter 1 of the two configured has worked on HT today
    assert [t.estimated_wait_s for t in waiting] == [0, 180]
    engine.call_next(2)
    assert engine.ticket(waiting[1].id).estimated_wait_s == 0
    assert engine.estimate_wait_s("HT", 4) == 4 * 180 // 2


def test_an_estimate_follows_a_finish_made_by_another_process_within_a_second(tmp_path, clock):
    target = store_target(tmp_path / "queue.db")
    here, there = open_engine(target, clock), open_engine(target, clock)  # two server processes, one database
    try:
        take(here), take(here)
        assert here.estimate_wait_s("HT", 1) == DEFAULT_SERVICE_S // 2  # read, and kept for FRESH_S
        ticket = there.call_next(1)
        there.start(ticket.id)
        clock.advance(minutes=2)
        there.finish(ticket.id)
        assert there.estimate_wait_s("HT", 1) == 120  # the process that finished it reads afresh at once
        eventually(lambda: here.estimate_wait_s("HT", 1) == 120, timeout=WaitInputs.FRESH_S * 5,
                   message="the other process's estimate")
    finally:
        here.close()
        there.close()


def test_status_shows_lines_and_counters(engine, clock):
    first, second, prio = take(engine), take(engine), take(engine, "CT", priority="disabled")
    engine.call_next(1)
    status = engine.status()
    lines = {s.code: s for s in status.services}
    assert (lines["HT"].waiting, lines["HT"].next_number) == (1, second.number)
    assert (lines["CT"].waiting, lines["CT"].next_number) == (1, prio.number)
    assert [(c.counter, c.number, c.state, c.called_at) for c in status.counters] == \
        [(1, first.number, "called", clock.now)]
    assert status.at == clock.now


def test_report_per_service_and_counter_with_average_and_p90(engine, clock):
    for _ in range(3):
        take(engine)
    waits, services = [], []
    for counter, (wait_min, service_min) in zip((1, 2, 1), [(10, 4), (2, 6), (1, 10)]):
        clock.advance(minutes=wait_min)
        ticket = engine.call_next(counter)
        waits.append((clock.now - ticket.issued_at).total_seconds())
        engine.start(ticket.id)
        clock.advance(minutes=service_min)
        services.append(service_min * 60)
        engine.finish(ticket.id)
    engine.transfer(take(engine, "CT").id, "HT")
    report = engine.report(clock.now.date())
    ht = next(row for row in report["services"] if row["service"] == "HT")
    assert (ht["tickets"], ht["no_shows"], ht["waiting"]) == (4, 0, 1)
    assert ht["wait_avg_s"] == pytest.approx(sum(waits) / 3, abs=0.1)
    assert ht["service_avg_s"] == pytest.approx(sum(services) / 3, abs=0.1)
    assert max(waits) >= ht["wait_p90_s"] > sorted(waits)[1]
    assert max(services) >= ht["service_p90_s"] > sorted(services)[1]
    ct = next(row for row in report["services"] if row["service"] == "CT")
    assert (ct["tickets"], ct["transferred_out"]) == (0, 1)
    assert [(c["counter"], c["tickets"]) for c in report["counters"]] == [(1, 2), (2, 1)]
    assert report["date"] == clock.now.date().isoformat()
