"""People ahead stay exact and cheap however long the line is.

Exact: a random day of issues (priority or not), calls (one service and several), recalls, no-shows, transfers and
back-dated offline tickets, checked after every move against a brute-force count over the rows. Cheap: the SQLite
virtual-machine steps an issue, a ticket view at either end of the line and the board's status take do not grow
with the line (counted with SQLite's progress handler, so the test does not depend on the machine's speed), and
the queries search an index with no sort.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from queueing import estimate
from queueing.db import connect
from queueing.engine import QueueEngine
from queueing.errors import CounterBusy
from tests.support import WallClock, demo_services

PRIORITIES = [None, None, None, "elderly", "booking"]


def fast_engine(path: Path, clock: WallClock) -> QueueEngine:
    """An engine without the per-commit fsync: these tests count work, not durability."""
    return QueueEngine(path, demo_services(), clock=clock, max_priority_in_row=2, synchronous="NORMAL",
                       checkpoint_interval_s=None)


def brute_force(path: Path, day: str) -> dict[str, int]:
    """People ahead of every waiting ticket, from all of them sorted in Python."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id, service, priority IS NULL, queue_at, rowid FROM tickets "
                            "WHERE day = ? AND state = 'waiting'", [day]).fetchall()
    ahead = {}
    for service in {row[1] for row in rows}:
        # the service's priority line, then its ordinary line, each by place (queue_at, then rowid)
        ordered = sorted((row for row in rows if row[1] == service), key=lambda row: (row[2], row[3], row[4]))
        ahead.update((row[0], place) for place, row in enumerate(ordered))
    return ahead


def line_counts(path: Path) -> tuple[list[tuple], list[tuple]]:
    """(the line_counts rows, the same counted over the tickets), without empty lines."""
    with sqlite3.connect(path) as conn:
        kept = conn.execute("SELECT day, service, ordinary, waiting FROM line_counts WHERE waiting != 0 "
                            "ORDER BY 1, 2, 3").fetchall()
        counted = conn.execute("SELECT day, service, priority IS NULL, COUNT(*) FROM tickets WHERE state = 'waiting' "
                               "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()
    return kept, counted


def test_people_ahead_match_a_brute_force_count_through_a_mixed_day(tmp_path):
    path, clock, rng = tmp_path / "queue.db", WallClock(), random.Random(17)
    engine = fast_engine(path, clock)
    block = engine.reserve_block("HT", 40, holder="K9")
    leased_at, offline_seq, requests = clock.now, block.first_seq, iter(range(10**6))
    moves = {"issue": 0, "offline": 0, "call": 0, "recall": 0, "no_show": 0, "finish": 0, "transfer": 0}
    for _ in range(300):
        clock.advance(seconds=rng.choice([0, 0, 1, 7, 30]))  # 0: equal times, the rowid breaks the tie
        move = rng.choices(list(moves), weights=[10, 2, 5, 1, 1, 3, 2])[0]
        counter = rng.choice([1, 2, 3])
        current = engine.current(counter)
        if move == "issue":
            engine.issue(rng.choice(["HT", "CT"]), request_id=f"r{next(requests)}", priority=rng.choice(PRIORITIES))
        elif move == "offline" and offline_seq <= block.last_seq:
            # back-dated between the lease and now: it joins the line in the middle
            issued = leased_at + (clock.now - leased_at) * rng.random()
            engine.record_offline(block.id, "HT", offline_seq, request_id=f"off{offline_seq}", issued_at=issued,
                                  priority=rng.choice(PRIORITIES), kiosk="K9")
            offline_seq += 1
        elif move == "call":
            try:
                engine.call_next(counter, rng.choice([None, ["HT", "CT"]]))
            except CounterBusy:
                engine.finish(current.id)
        elif move == "transfer":
            waiting = engine.waiting(rng.choice(["HT", "CT"]))
            ticket = current or (rng.choice(waiting) if waiting else None)
            if ticket is not None:
                engine.transfer(ticket.id, "CT" if ticket.service == "HT" else "HT")
        elif current is not None and current.state == "called" and move in ("recall", "no_show", "finish"):
            getattr(engine, move)(current.id)
        else:
            continue
        moves[move] += 1
        expected = brute_force(path, clock.now.date().isoformat())
        assert {t: engine.ticket(t).people_ahead for t in expected} == expected
        assert {t.id: t.people_ahead for s in ("HT", "CT") for t in engine.waiting(s)} == expected
        kept, counted = line_counts(path)
        assert kept == counted
    assert all(moves.values()), moves  # every kind of move happened
    # some ticket had a full first probe of the line on either side: every branch of the count ran
    assert max(brute_force(path, clock.now.date().isoformat()).values()) > 2 * estimate.FIRST_PROBE


def vm_steps(engine: QueueEngine, action: Callable[[], object]) -> int:
    """SQLite virtual-machine instructions ``action`` runs on the engine's connection."""
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    with engine.db.connection() as conn:  # the one SQLite connection the engine's calls below run on too
        conn.set_progress_handler(tick, 1)
        try:
            action()
        finally:
            conn.set_progress_handler(None, 1)
    return steps


def fill(engine: QueueEngine, clock: WallClock, count: int, start: int) -> None:
    for i in range(start, start + count):
        clock.advance(seconds=1)
        engine.issue("HT", request_id=f"fill-{i}", priority="elderly" if i % 5 == 0 else None)


def test_issuing_viewing_and_the_board_cost_the_same_in_a_line_of_100_and_of_3000(tmp_path):
    clock = WallClock()
    engine = fast_engine(tmp_path / "queue.db", clock)
    requests = iter(range(10**6))

    def costs() -> dict[str, int]:
        line = engine.waiting("HT")
        front, back = line[0].id, line[-1].id
        return {"issue": vm_steps(engine, lambda: engine.issue("HT", request_id=f"m{next(requests)}")),
                "priority issue": vm_steps(engine, lambda: engine.issue("HT", request_id=f"m{next(requests)}",
                                                                        priority="elderly")),
                "front of the line": vm_steps(engine, lambda: engine.ticket(front)),
                "back of the line": vm_steps(engine, lambda: engine.ticket(back)),
                "board status": vm_steps(engine, engine.status)}

    fill(engine, clock, 100, 0)
    short = costs()
    fill(engine, clock, 2900, 100)
    long = costs()
    assert len(engine.waiting("HT")) > 3000
    for name, steps in long.items():
        assert steps <= short[name] * 1.25, f"{name}: {short[name]} VM steps in a line of 100, {steps} in 3,000"


@pytest.mark.parametrize(("query", "args"), [
    (f"SELECT COUNT(*) FROM (SELECT 1 {estimate._LINE}{estimate._BEFORE} LIMIT ?)", ["d", "S", 1, "q", "q", 1, 16]),
    (f"SELECT COUNT(*) FROM (SELECT 1 {estimate._LINE}{estimate._AFTER} LIMIT ?)", ["d", "S", 0, "q", "q", 1, 16]),
])
def test_a_place_in_line_is_counted_by_an_index_range_with_no_sort(tmp_path, query, args):
    plan = " / ".join(row[3] for row in connect(tmp_path / "q.db").query(f"EXPLAIN QUERY PLAN {query}", args))
    assert "SEARCH tickets USING INDEX tickets_line (day=? AND service=? AND <expr>=? AND queue_at" in plan
    assert "TEMP B-TREE" not in plan


def test_the_upgrade_counts_the_lines_already_waiting(tmp_path):
    """A queue file made before ``line_counts`` existed gets its counts from the tickets at the upgrade."""
    path, clock = tmp_path / "queue.db", WallClock()
    engine = fast_engine(path, clock)
    fill(engine, clock, 30, 0)
    engine.call_next(1)
    engine.close()
    with sqlite3.connect(path) as conn:  # back to the file as the previous release left it
        for trigger in ("line_join", "line_leave", "line_move_out", "line_move_in"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE line_counts")
        conn.execute("DELETE FROM _migrations WHERE name = '0004_line_counts'")
    engine = fast_engine(path, clock)
    kept, counted = line_counts(path)
    assert kept == counted and sum(row[3] for row in kept) == 29
    assert engine.issue("HT", request_id="after-upgrade").people_ahead == 29
