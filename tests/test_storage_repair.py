"""Corrupted SQLite files at start: detected, moved aside, rebuilt from what can be read, reported.

Real files written by the real stores, then damaged the way disks damage them: a page in the middle overwritten
with random bytes (a torn write or a bad sector), a garbage header, a file cut short, a file of pure noise.
"""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from backend.server import open_store
from contracts import storage
from contracts.storage import check_and_repair
from kiosk.backend_client import _StatusCache
from kiosk.cli.embedded import open_backend
from kiosk.core import KioskCore
from kiosk.outbox import Outbox
from kiosk.survey import SurveyStore
from queueing.db import connect
from queueing.engine import QueueEngine
from tests.support import WallClock, demo_services, open_engine, take

PAGE = 4096  # SQLite's default page size, which every kiosk database uses


# -- making and damaging files --------------------------------------------------------------------------------
def queue_file(path: Path, tickets: int) -> list[str]:
    """A queue database with ``tickets`` tickets (two services); returns their ids in issue order."""
    engine = open_engine(path, WallClock())
    ids = [take(engine, "HT" if n % 3 else "CT").id for n in range(tickets)]
    engine.close()
    return ids


def query(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


def page_of(path: Path, table: str, kind: str) -> tuple[int, int]:
    """(page number, cells on it) of a middle ``kind`` page ("leaf" or "internal") of a table or index."""
    pages = query(path, "SELECT pageno, ncell FROM dbstat WHERE name = ? AND pagetype = ? ORDER BY pageno",
                  (table, kind))
    return pages[len(pages) // 2]


def tear_page(path: Path, pageno: int) -> None:
    """Overwrite one whole page with random bytes: what a torn write or a bad sector leaves."""
    with open(path, "r+b") as file:
        file.seek((pageno - 1) * PAGE)
        file.write(random.Random(pageno).randbytes(PAGE))


def garble_header(path: Path) -> None:
    with open(path, "r+b") as file:
        file.write(random.Random(7).randbytes(100))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ticket_ids(path: Path) -> list[str]:
    return [row[0] for row in query(path, "SELECT id FROM tickets ORDER BY rowid")]


def integrity(path: Path) -> str:
    return query(path, "PRAGMA integrity_check")[0][0]


@pytest.fixture
def events() -> list[str]:
    return []


# -- the check ------------------------------------------------------------------------------------------------
def test_a_healthy_file_is_left_exactly_as_it_is(tmp_path, events):
    path = tmp_path / "queue.db"
    queue_file(path, 20)
    before = digest(path)
    result = check_and_repair(path, report=events.append)
    assert (result.repaired, events, digest(path)) == (False, [], before)
    assert not (tmp_path / "corrupt").exists()


def test_a_missing_file_is_not_an_error(tmp_path, events):
    assert not check_and_repair(tmp_path / "new.db", report=events.append).repaired
    assert not check_and_repair(":memory:", report=events.append).repaired
    assert events == []


def test_a_torn_leaf_page_costs_only_the_rows_on_it(tmp_path, events):
    """GIVEN 600 tickets WHEN one leaf page of the tickets table is overwritten with random bytes THEN the file is
    moved aside untouched, the rebuilt file passes integrity_check and holds every other ticket in order."""
    path = tmp_path / "queue.db"
    ids = queue_file(path, 600)
    pageno, cells = page_of(path, "tickets", "leaf")
    tear_page(path, pageno)
    torn = digest(path)

    result = check_and_repair(path, report=events.append)

    assert result.repaired and result.damaged == ("tickets",)
    assert result.moved_to.parent == tmp_path / "corrupt" and digest(result.moved_to) == torn
    assert integrity(path) == "ok"
    recovered = ticket_ids(path)
    assert len(recovered) == len(ids) - cells and 0 < cells < 60
    assert recovered == [ticket for ticket in ids if ticket in set(recovered)]  # same order, nothing invented
    assert len(events) == 1 and "queue.db" in events[0] and "tickets" in events[0]
    assert "\n" not in events[0] and not any(ticket in events[0] for ticket in ids)


def test_a_torn_index_page_loses_nothing(tmp_path, events):
    path = tmp_path / "queue.db"
    ids = queue_file(path, 600)
    tear_page(path, page_of(path, "tickets_day_counter", "leaf")[0])
    result = check_and_repair(path, report=events.append)
    assert result.repaired and result.damaged == ()
    assert ticket_ids(path) == ids and integrity(path) == "ok"
    assert "nothing lost" in events[0]


def test_the_queue_goes_on_numbering_after_a_repair_lost_its_sequence_page(tmp_path, events):
    """The next number continues after the highest ticket on file, never repeating one."""
    path = tmp_path / "queue.db"
    queue_file(path, 30)  # HT: A001-A020, CT: B0001-B0010
    tear_page(path, page_of(path, "day_sequences", "leaf")[0])
    assert check_and_repair(path, report=events.append).damaged == ("day_sequences",)
    engine = open_engine(path, WallClock())
    try:
        assert [take(engine).number, take(engine, "CT").number] == ["A021", "B0011"]
    finally:
        engine.close()


def test_a_garbage_header_is_rewritten_and_every_row_read_back_as_stored(tmp_path, events):
    path = tmp_path / "queue.db"
    queue_file(path, 300)
    stored = {table: query(path, f"SELECT rowid, * FROM {table} ORDER BY rowid")
              for table in ("tickets", "day_sequences", "_migrations")}
    garble_header(path)
    result = check_and_repair(path, report=events.append)
    assert result.problem == "file is not a database" and result.damaged == ()
    assert {table: query(path, f"SELECT rowid, * FROM {table} ORDER BY rowid") for table in stored} == stored
    assert integrity(path) == "ok"


def test_commits_still_in_the_wal_are_recovered_behind_a_garbage_header(tmp_path, events):
    """GIVEN a process killed after committing an update that was never checkpointed (it lives in the -wal file)
    WHEN the main file's header is garbage THEN the update comes back with the rows. (Had the commit grown the
    file, page 1 itself would be in the WAL and SQLite would heal the header alone.)"""
    live, crashed = tmp_path / "live", tmp_path / "crashed"
    live.mkdir()
    crashed.mkdir()
    writer = sqlite3.connect(live / "survey.db", isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY, score INTEGER NOT NULL)")
    writer.executemany("INSERT INTO answers (score) VALUES (1)", [()] * 200)
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    writer.execute("UPDATE answers SET score = 5 WHERE id % 2 = 0")
    for name in ("survey.db", "survey.db-wal"):  # the files as a kill -9 leaves them
        shutil.copyfile(live / name, crashed / name)
    writer.close()
    garble_header(crashed / "survey.db")

    result = check_and_repair(crashed / "survey.db", report=events.append)

    assert result.problem == "file is not a database" and result.rows == {"answers": 200}
    assert query(crashed / "survey.db", "SELECT COUNT(*), SUM(score) FROM answers") == [(200, 600)]


def test_a_truncated_file_gives_back_the_pages_before_the_cut(tmp_path, events):
    path = tmp_path / "queue.db"
    ids = queue_file(path, 600)
    # Where the tickets' rows lie decides what a cut keeps (their leaf pages sit among the indexes' and other
    # tables', in allocation order, which each migration changes): cut after the middle leaf page of the tickets
    # and expect back at least every row of the leaf pages before the cut.
    with closing(sqlite3.connect(path)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        leaves = conn.execute("SELECT pageno, ncell FROM dbstat WHERE name = 'tickets' AND pagetype = 'leaf' "
                              "ORDER BY pageno").fetchall()
    cut_page = leaves[len(leaves) // 2][0]
    kept_rows = sum(cells for page, cells in leaves if page <= cut_page)
    with open(path, "r+b") as file:
        file.truncate(cut_page * page_size)
    result = check_and_repair(path, report=events.append)
    recovered = ticket_ids(path)
    assert result.repaired and 0 < len(recovered) < len(ids)
    # in order and nothing invented; not necessarily a prefix: a table's leaf pages need not lie in key order in the
    # file, so a later page can sit before the cut
    assert recovered == [ticket for ticket in ids if ticket in set(recovered)]
    assert len(recovered) >= kept_rows > 0
    assert integrity(path) == "ok"


def test_noise_is_moved_aside_and_the_database_starts_empty(tmp_path, events):
    path = tmp_path / "queue.db"
    path.write_bytes(random.Random(3).randbytes(64 * PAGE))
    result = check_and_repair(path, report=events.append)
    assert not path.exists() and result.moved_to.read_bytes() == random.Random(3).randbytes(64 * PAGE)
    assert "starting empty" in events[0]
    engine = open_engine(path, WallClock())  # the opener creates a fresh file
    try:
        assert take(engine).number == "A001"
    finally:
        engine.close()


def test_a_second_repair_the_same_second_keeps_both_copies(tmp_path, events):
    path = tmp_path / "queue.db"
    for _ in range(2):
        path.write_bytes(b"not a database at all" * 300)
        check_and_repair(path, report=events.append)
    assert len(list((tmp_path / "corrupt").iterdir())) == 2 and len(events) == 2


def test_a_locked_file_is_not_mistaken_for_damage(tmp_path, events, monkeypatch):
    path = tmp_path / "queue.db"
    queue_file(path, 5)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode = DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(storage, "CHECK_TIMEOUT_S", 0.1)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            check_and_repair(path, report=events.append)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert path.exists() and not (tmp_path / "corrupt").exists() and events == []


# -- every opener -----------------------------------------------------------------------------------------------
def write_rows(kind: str, path: Path) -> int:
    """Write rows through the real store of ``kind`` and close it; returns how many there are."""
    if kind == "queue.db":
        engine = QueueEngine(path, demo_services())
        for n in range(5):
            engine.issue("HT", request_id=f"r{n}")
        engine.close()
    elif kind == "outbox.db":
        outbox = Outbox(path, "HN-01")
        for n in range(5):
            outbox.add(f"key-{n}", {"procedure_id": "HT01", "form": {}})
        outbox.close()
    elif kind == "survey.db":
        survey = SurveyStore(path, "HN-01")
        for score in (1, 2, 3, 4, 5):
            survey.record(score, service="HT")
        survey._db.close()
    elif kind == "status-cache.db":
        cache = _StatusCache(path)
        for n in range(5):
            cache.put(f"000.00.13.H26-251120-{n:04d}", {"status": "received"})
        cache._conn.close()
    else:
        store = open_store(path)  # seeds the demo dossiers
        store.close()
    return 5


def read_rows(kind: str, path: Path) -> int:
    """Reopen ``kind`` through its opener (which checks and repairs) and count the rows written above."""
    if kind == "queue.db":
        engine = QueueEngine(path, demo_services())
        found = len(engine.waiting("HT"))
        engine.close()
    elif kind == "outbox.db":
        outbox = Outbox(path, "HN-01")
        found = len(outbox.items("pending"))
        assert outbox.add("key-new", {"procedure_id": "HT01", "form": {}}).endswith("-0006")  # no reused number
        outbox.close()
    elif kind == "survey.db":
        survey = SurveyStore(path, "HN-01")
        found = len(survey.undelivered())
        survey._db.close()
    elif kind == "status-cache.db":
        cache = _StatusCache(path)
        found = sum(cache.get(f"000.00.13.H26-251120-{n:04d}") is not None for n in range(5))
        cache._conn.close()
    else:
        store = open_store(path)
        found = store.count_dossiers()
        store.close()
    return found


@pytest.mark.parametrize("kind", ["queue.db", "outbox.db", "survey.db", "status-cache.db", "backend.db"])
def test_each_opener_repairs_its_file_at_start(tmp_path, caplog, kind):
    path = tmp_path / kind
    written = write_rows(kind, path)
    garble_header(path)
    with caplog.at_level(logging.WARNING, logger="contracts.storage"):
        assert read_rows(kind, path) == written
    assert len([r for r in caplog.records if "was corrupted" in r.getMessage()]) == 1
    assert len(list((tmp_path / "corrupt").glob(f"{kind}.*"))) == 1


# -- a whole kiosk ----------------------------------------------------------------------------------------------
def test_the_kiosk_starts_on_a_damaged_data_dir_with_what_could_be_saved(kiosk_config, caplog):
    """GIVEN a data dir whose queue has a torn page and whose outbox has a garbage header WHEN the kiosk starts
    THEN it runs, both files are in corrupt/, the readable tickets and every outbox item are back, the healthy
    survey file is untouched, and the next number follows the highest one on file."""
    data = kiosk_config.data_dir
    data.mkdir(parents=True)
    engine = QueueEngine(data / "queue.db", kiosk_config.queue.services)
    ids = [engine.issue("HT", request_id=f"tap-{n}").id for n in range(400)]
    engine.close()
    outbox = Outbox(data / "outbox.db", kiosk_config.kiosk.id)
    refs = [outbox.add(f"key-{n}", {"procedure_id": "HT01", "form": {"applicant_name": "Nguyễn Văn An"}})
            for n in range(3)]
    outbox.close()
    survey = SurveyStore(data / "survey.db", kiosk_config.kiosk.id)
    survey.record(5)
    survey._db.close()
    pageno, cells = page_of(data / "queue.db", "tickets", "leaf")
    tear_page(data / "queue.db", pageno)
    garble_header(data / "outbox.db")

    with caplog.at_level(logging.WARNING, logger="contracts.storage"):
        core = KioskCore(kiosk_config, backend=open_backend)
    try:
        moved = sorted(path.name.split(".db")[0] for path in (data / "corrupt").iterdir())
        assert moved == ["outbox", "queue"]
        assert len(ticket_ids(data / "queue.db")) == len(ids) - cells
        assert [item["local_ref"] for item in core.outbox.items()] == refs
        assert len(core.survey.undelivered()) == 1
        assert core.queue.take("HT").number == "A401"
        lines = [r.getMessage() for r in caplog.records if "was corrupted" in r.getMessage()]
        assert len(lines) == 2 and not any("Nguyễn" in line for line in lines)
    finally:
        core.close()


def test_the_line_counts_match_the_tickets_a_repair_kept(tmp_path):
    """The lines' lengths are derived from the tickets: after a repair lost a page of tickets, the reopened queue
    counts its lines from the tickets it has, not from counts that included the lost ones."""
    path = tmp_path / "queue.db"
    queue_file(path, 600)
    tear_page(path, page_of(path, "tickets", "leaf")[0])
    connect(path).close()  # what opening the queue does: check, repair, migrate, recount
    assert integrity(path) == "ok"
    counted = query(path, "SELECT day, service, ordinary, waiting FROM line_counts WHERE waiting > 0 ORDER BY 1, 2, 3")
    brute = query(path, "SELECT day, service, priority IS NULL, COUNT(*) FROM tickets WHERE state = 'waiting' "
                        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
    assert counted == brute and sum(row[3] for row in brute) < 600
