"""contracts.sqldb on a real SQLite file and a real PostgreSQL cluster: one SQL for both, what a restart of
PostgreSQL costs (one 503, then a renewed pool), a pool used up (busy, not a crash), the ``?`` translation."""

from __future__ import annotations

import threading

import pytest

from contracts import sqldb
from contracts.sqldb import DatabaseTargetError, StoreBusy, StoreUnavailable, open_database, to_format_style
from tests.pgcluster import start_cluster


@pytest.fixture(scope="module")
def own_cluster():
    """A cluster this module may restart without disturbing the other tests' one."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


def test_placeholders_become_psycopg_style_outside_quotes() -> None:
    assert to_format_style("SELECT ? WHERE a LIKE '%?%' AND b = ?") == "SELECT %s WHERE a LIKE '%%?%%' AND b = %s"
    assert to_format_style('SELECT "odd?name" FROM t WHERE x = ?') == 'SELECT "odd?name" FROM t WHERE x = %s'
    with pytest.raises(ValueError, match="numbered"):
        to_format_style("SELECT ?1")


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_one_sql_both_engines(engine: str, tmp_path, pg_cluster) -> None:
    db = open_database(tmp_path / "s.db" if engine == "sqlite" else pg_cluster.fresh_database())
    try:
        with db.transaction("t") as conn:
            conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)")
            for value in (1, 2):
                conn.execute("INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                             ["a%", value])
        assert db.query("SELECT k, v FROM kv WHERE k LIKE 'a%'") == [("a%", 2)]
        with pytest.raises(db.integrity_errors), db.transaction("t") as conn:
            conn.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ["b", 1])
            conn.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ["b", 1])
        assert db.query("SELECT COUNT(*) FROM kv") == [(1,)], "the failed transaction rolled back whole"
    finally:
        db.close()


def test_a_restart_costs_one_refused_request_then_the_pool_is_renewed(own_cluster) -> None:
    db = open_database(own_cluster.fresh_database())
    try:
        with db.connection(), db.connection():  # nested loans on one thread are one connection
            pass
        assert db.query("SELECT 1") == [(1,)]
        own_cluster.restart()
        with pytest.raises(StoreUnavailable):
            db.query("SELECT 1")
        assert db.query("SELECT 1") == [(1,)]
    finally:
        db.close()


def test_a_used_up_pool_is_busy_not_a_crash(own_cluster, monkeypatch) -> None:
    monkeypatch.setattr(sqldb, "BUSY_TIMEOUT_S", 0.5)
    db = open_database(own_cluster.fresh_database(), pool_size=1)  # one connection plus one overflow
    held, release = threading.Barrier(3), threading.Event()

    def hold() -> None:
        with db.connection():
            held.wait(10)
            release.wait(10)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    try:
        held.wait(10)
        with pytest.raises(StoreBusy, match="stayed in use"):
            db.query("SELECT 1")
    finally:
        release.set()
        for thread in holders:
            thread.join(10)
        db.close()


def test_unusable_targets_are_one_line_and_create_nothing(tmp_path, own_cluster) -> None:
    for target, expected in (("mysql://u@h/db", "not a database this server can use"),
                             (own_cluster.url("no_such_db"), "cannot connect"),
                             (str(tmp_path / "missing" / "x.db"), "does not exist")):
        with pytest.raises(DatabaseTargetError, match=expected) as caught:
            open_database(target if "://" in target else tmp_path / "missing" / "x.db")
        assert "\n" not in str(caught.value)
    assert not (tmp_path / "missing").exists()
