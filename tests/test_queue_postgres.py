"""The branch queue on PostgreSQL only: a database that goes away is a 503 with a clear code (never a 500) and
``/health`` says so, and the line's place counts use the ``tickets_line`` index there too.

Stopping PostgreSQL needs a cluster of the test's own (the session's cluster serves every other test).
"""

from __future__ import annotations

import httpx
import pytest

from backend.server import serve_in_thread
from queueing.engine import QueueEngine
from queueing.estimate import _AFTER, _BEFORE, _LINE
from queueing.server import create_app
from tests.pgcluster import start_cluster
from tests.support import WallClock, demo_services, open_engine, queue_token


@pytest.fixture
def own_cluster():
    cluster = start_cluster()
    yield cluster
    cluster.stop()


def test_a_database_that_went_away_is_a_503_with_a_code_and_health_says_so(own_cluster):
    engine = open_engine(own_cluster.fresh_database("gone"), WallClock())
    running = serve_in_thread(create_app(engine, counter_passwords={}, kiosk_tokens=[queue_token()]))
    http = httpx.Client(base_url=running.url, timeout=10, headers={"Authorization": f"Bearer {queue_token()}"})
    try:
        assert http.get("/health").status_code == 200
        assert http.post("/api/tickets", json={"service": "HT", "request_id": "before"}).status_code == 200
        own_cluster.stop()  # PostgreSQL stops at once (immediate shutdown)
        assert not (own_cluster.root / "data").exists()
        for method, path, body in (("GET", "/health", None), ("GET", "/api/services", None),
                                   ("POST", "/api/tickets", {"service": "HT", "request_id": "after"}),
                                   ("GET", "/api/status", None)):
            response = http.request(method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.json()["code"] == "store_unavailable" and response.headers["Retry-After"]
    finally:
        http.close()
        running.stop()
        engine.close()


def test_the_place_in_line_is_counted_on_the_line_index(own_cluster):
    """On PostgreSQL too, the probes that count a ticket's place read a range of ``tickets_line``, with no sort and
    no pass over the table, in a line of 3,000."""
    url = own_cluster.fresh_database("plan")
    clock = WallClock()
    engine = QueueEngine(url, demo_services(), clock=clock)
    try:
        with engine.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO tickets (id, request_id, day, service, seq, number, priority, issued_at, queue_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(f"t{i}", f"r{i}", "2026-12-01", "HT", i, f"A{i}", "elderly" if i % 10 == 0 else None,
                  f"2026-12-01T09:{i // 60 % 60:02d}:{i % 60:02d}", f"2026-12-01T09:{i // 60 % 60:02d}:{i % 60:02d}")
                 for i in range(1, 3001)])
            conn.execute("ANALYZE tickets")
        # a new ticket at the back counts who is after it, the next one called who is before it: both read a few
        # index entries whatever the line's length (the middle of a long line is the rare case)
        for side, (stamp, rowid) in ((_AFTER, ("2026-12-01T09:59:59", 3001)), (_BEFORE, ("2026-12-01T09:00:01", 1))):
            plan = "\n".join(row[0] for row in engine.db.query(
                f"EXPLAIN SELECT COUNT(*) FROM (SELECT 1 {_LINE}{side} LIMIT ?) AS entries",
                ["2026-12-01", "HT", True, stamp, stamp, rowid, 16]))
            assert "tickets_line" in plan, plan
            assert "Seq Scan" not in plan and "Sort" not in plan, plan
    finally:
        engine.close()
