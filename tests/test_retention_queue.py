"""The kiosk's local queue stays bounded: its retention deletes tickets, numbering and blocks of days older than
``retention.queue_days`` (the line is per day, so such a ticket is never called), and never today's line."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from config.loader import load_config
from kiosk.outbox import Outbox
from kiosk.retention import Retention
from tests.support import WallClock, open_engine, take

KEEP, DAYS, A_DAY = 5, 20, 6


def rows(path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_tickets_of_days_past_queue_days_go_and_todays_line_stays(tmp_path):
    config = load_config(None, [f"data_dir={tmp_path / 'data'}", f"retention.queue_days={KEEP}"])
    config.data_dir.mkdir(parents=True)
    clock = WallClock()
    engine = open_engine(config.data_dir / "queue.db", clock)
    outbox = Outbox(config.data_dir / "outbox.db", "K01", clock)
    retention = Retention(config, outbox, clock, queue=engine)
    queue_db = config.data_dir / "queue.db"
    try:
        for day in range(DAYS):
            tickets = [take(engine) for _ in range(A_DAY)]
            engine.finish(engine.call_next(1).id)  # one served, the rest still waiting when the day ends
            engine.reserve_block("CT", 10, holder="K01")
            removed = retention.run_once()
            kept_days = min(day + 1, KEEP + 1)  # today and the KEEP days before it
            assert rows(queue_db, "tickets") == kept_days * A_DAY, f"day {day}"
            assert rows(queue_db, "number_blocks") == kept_days
            assert removed.get("local queue tickets", 0) == (A_DAY if day > KEEP else 0)
            clock.advance(days=1)
        clock.now -= timedelta(days=1)  # back on the last day: its line is whole and callable
        assert [t.number for t in engine.waiting("HT")] == [t.number for t in tickets[1:]]
    finally:
        engine.close()
        outbox.close()
