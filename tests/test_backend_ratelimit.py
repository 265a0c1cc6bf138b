"""The look-up limit shared through the database (contracts.ratelimit.SharedLookupLimit): one-minute windows with
the previous minute weighed in, so a caller cannot double its rate across a minute's boundary; on both engines
(the table and its one upsert are plain SQL), with a clock the test moves."""

from __future__ import annotations

import pytest

from contracts.ratelimit import SharedLookupLimit
from contracts.sqldb import open_database
from tests.stores import store_target
from tests.support import FakeClock

pytestmark = pytest.mark.stores
LIMIT = 3


@pytest.fixture
def limit(tmp_path):
    db = open_database(store_target(tmp_path / "limits.db"))
    clock = FakeClock(start=600 * 60.0)  # the start of a minute
    yield SharedLookupLimit(db, LIMIT, 100, clock=clock), clock
    db.close()


def test_the_limit_holds_within_a_minute_and_across_its_boundary(limit):
    shared, clock = limit
    assert [shared.take({"token:a": LIMIT}) for _ in range(LIMIT)] == [0.0] * LIMIT
    assert shared.take({"token:a": LIMIT}) == pytest.approx(60.0)  # a 4th this minute: only the next one helps
    assert shared.take({"token:b": LIMIT}) == 0.0  # another caller has its own count
    clock.advance(60)  # a new minute: the 3 hits of the last one still weigh 3 × (1 - t/60)
    assert shared.take({"token:a": LIMIT}) == pytest.approx(20.0)  # 3 × (1 - t/60) + 1 ≤ 3 from t = 20 s
    clock.advance(20)  # the caller waited its Retry-After: the refused try was not counted against it
    assert shared.take({"token:a": LIMIT}) == 0.0
    assert shared.take({"token:a": LIMIT}) == pytest.approx(20.0)  # 3 × (1 - t/60) + 2 ≤ 3 from t = 40 s
    clock.advance(20)
    assert shared.take({"token:a": LIMIT}) == 0.0
    clock.advance(120)  # quiet for two minutes: a fresh start
    assert [shared.take({"token:a": LIMIT}) for _ in range(LIMIT)] == [0.0] * LIMIT


def test_one_statement_counts_every_key_and_the_most_limited_one_answers(limit):
    shared, _clock = limit
    for _ in range(LIMIT):
        assert shared.take({"address:x": 100, "token:a": LIMIT}) == 0.0
    assert shared.take({"address:x": 100, "token:a": LIMIT}) > 0  # the token's limit, though the address has room
    rows = dict(shared.db.query("SELECT key, hits FROM rate_limit_hits"))
    assert rows == {"address:x": LIMIT, "token:a": LIMIT}  # the refused one taken back from both


def test_quiet_callers_rows_are_deleted_when_the_minute_turns(limit):
    shared, clock = limit
    shared.take({"token:old": LIMIT})
    clock.advance(120)
    shared.take({"token:new": LIMIT})
    assert [row[0] for row in shared.db.query("SELECT key FROM rate_limit_hits")] == ["token:new"]
