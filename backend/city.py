"""Branch figures for the city view: what each centre's queue server reports, kept newest-first and per 15 minutes.

::

    POST /api/city/reports    report token (or admin); body {"reports": [REPORT, ...]} (1..200, oldest first)
         200 {"accepted": n, "duplicates": m} · 401 · 403 a kiosk token · 413 · 422 {"message": "<key>: <what>"}

A branch queue server records a snapshot of its figures every 30 s in an outbox and sends everything unsent here
(``queueing.server.city_sender``), so after a link outage the backlog arrives in one go, oldest first. Each report
is kept once per (centre, seq): a batch sent again after a lost answer counts its reports as duplicates, never
twice. Three tables, written in one transaction per batch:

* ``city_latest`` — the newest report of each centre (what the city table shows), replaced only by a newer one;
* ``city_history`` — per 15-minute slot and service: the waiting line's last and largest length, the day's
  cumulative issued/served/no-shows and the waits at the slot's last report (the drill-down's hourly chart and
  "same weekday last month" read it), kept :data:`HISTORY_DAYS` days;
* ``city_seen`` — (centre, seq) of every report of the last :data:`LEDGER_DAYS` days: the duplicate check. A
  branch drops what it could not deliver in 7 days, so nothing older is ever sent again.

The tables live in ``city.db`` beside ``backend.db`` on SQLite, or in the one PostgreSQL database every backend
process shares (``backend.layout``); :meth:`CityStore.version` is a counter in the database, so a process's live
page sees reports another process received.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from starlette.responses import JSONResponse, Response

from backend.fleet import KIOSK_ID_PATTERN
from backend.store import hash_token, opened
from config.localtime import LOCAL_TZ
from config.schema import CENTRE_ID_PATTERN
from contracts.http import Call, Endpoint, bearer
from contracts.migrations import Migrations
from contracts.sqldb import Connection, Database

log = logging.getLogger(__name__)
MAX_REPORTS = 200
MAX_SERVICES = 100
MAX_KIOSKS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024  # 200 reports of a large centre (20 services, 20 kiosks) is ~1 MB
MAX_COUNT = 1_000_000
MAX_MINUTES = 100_000.0
SLOT = dt.timedelta(minutes=15)
HISTORY_DAYS = 400  # "today vs the same weekday last month" needs 35; a year back and a bit for yearly comparisons
LEDGER_DAYS = 8  # a branch drops undelivered snapshots after 7 days: older ones are never re-sent
city_migrations = Migrations()


@city_migrations("city_0001_reports")
def _schema(conn: Connection) -> None:
    real = "DOUBLE PRECISION" if conn.dialect == "postgresql" else "REAL"
    big = "BIGINT" if conn.dialect == "postgresql" else "INTEGER"
    conn.execute(f"CREATE TABLE city_seen (centre TEXT NOT NULL, seq {big} NOT NULL, at_s {real} NOT NULL, "
                 f"received_at_s {real} NOT NULL, token_digest TEXT NOT NULL, PRIMARY KEY (centre, seq))")
    conn.execute("CREATE INDEX city_seen_at ON city_seen (at_s)")
    conn.execute(f"CREATE TABLE city_latest (centre TEXT PRIMARY KEY, seq {big} NOT NULL, at_s {real} NOT NULL, "
                 "received_at TEXT NOT NULL, report TEXT NOT NULL)")
    conn.execute(f"CREATE TABLE city_history (centre TEXT NOT NULL, slot_s {real} NOT NULL, service TEXT NOT NULL, "
                 f"last_at_s {real} NOT NULL, waiting_last INTEGER NOT NULL, waiting_max INTEGER NOT NULL, "
                 "issued INTEGER NOT NULL, served INTEGER NOT NULL, no_shows INTEGER NOT NULL, "
                 f"wait_now_min {real}, wait_p90_min {real}, PRIMARY KEY (centre, slot_s, service))")
    conn.execute("CREATE INDEX city_history_slot ON city_history (slot_s)")
    conn.execute(f"CREATE TABLE city_version (id INTEGER PRIMARY KEY, n {big} NOT NULL)")
    conn.execute("INSERT INTO city_version (id, n) VALUES (1, 0)")


# -- the wire format (contracts B) -------------------------------------------------------------------------------------
def _printable(text: str) -> str:
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError("no control characters")
    return text


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT, strict=True)]
Minutes = Annotated[float, Field(ge=0, le=MAX_MINUTES)]


class ServiceFigures(_Model):
    code: str = Field(pattern=r"^[A-Z0-9]{1,8}$")
    name: Name
    waiting: Count
    virtual_waiting: Count
    issued: Count
    served: Count
    no_shows: Count
    wait_now_min: Minutes | None
    wait_p90_min: Minutes | None
    counters_open: Count

    check_name = field_validator("name")(_printable)


class KioskPresence(_Model):
    id: str = Field(pattern=KIOSK_ID_PATTERN)
    online: bool
    last_seen: AwareDatetime | None


class BranchReport(_Model):
    """One snapshot of a centre's figures (see docs/operations.md, "Branch figures to the city")."""

    centre: str = Field(pattern=CENTRE_ID_PATTERN)
    name: Name
    seq: int = Field(ge=1, le=2**53, strict=True)
    at: AwareDatetime
    target_wait_min: int = Field(ge=1, le=240, strict=True)
    services: list[ServiceFigures] = Field(max_length=MAX_SERVICES)
    counters_open: Count
    kiosks: list[KioskPresence] = Field(max_length=MAX_KIOSKS)
    displays_online: Count

    check_name = field_validator("name")(_printable)

    @field_validator("services")
    @classmethod
    def _codes_once(cls, services: list[ServiceFigures]) -> list[ServiceFigures]:
        if len({service.code for service in services}) != len(services):
            raise ValueError("each service code at most once")
        return services


class ReportBatch(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, title="BranchReports")

    reports: list[BranchReport] = Field(min_length=1, max_length=MAX_REPORTS)


# -- the store ---------------------------------------------------------------------------------------------------------
def _local(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, LOCAL_TZ).isoformat(timespec="seconds")


def _slot_start(at: dt.datetime) -> dt.datetime:
    local = at.astimezone(LOCAL_TZ)
    return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)


def _midnight(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(), LOCAL_TZ).timestamp()


_HISTORY_UPSERT = (
    "INSERT INTO city_history (centre, slot_s, service, last_at_s, waiting_last, waiting_max, issued, served, "
    "no_shows, wait_now_min, wait_p90_min) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (centre, slot_s, service) DO UPDATE SET "
    "waiting_max = CASE WHEN excluded.waiting_max > city_history.waiting_max THEN excluded.waiting_max "
    "ELSE city_history.waiting_max END, "
    + ", ".join(f"{column} = CASE WHEN excluded.last_at_s >= city_history.last_at_s THEN excluded.{column} "
                f"ELSE city_history.{column} END"
                for column in ("waiting_last", "issued", "served", "no_shows", "wait_now_min", "wait_p90_min"))
    + ", last_at_s = CASE WHEN excluded.last_at_s > city_history.last_at_s THEN excluded.last_at_s "
      "ELSE city_history.last_at_s END")
_LATEST_UPSERT = (
    "INSERT INTO city_latest (centre, seq, at_s, received_at, report) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (centre) DO UPDATE SET seq = excluded.seq, at_s = excluded.at_s, "
    "received_at = excluded.received_at, report = excluded.report WHERE excluded.at_s >= city_latest.at_s")


class CityStore:
    """Branch reports in a database: ``city.db`` (``:memory:`` keeps them for the life of the process) or the
    PostgreSQL database every backend process shares. ``clock`` gives epoch seconds (tests move it)."""

    def __init__(self, target: Database | str | Path, clock: Callable[[], float] = time.time) -> None:
        self.db = opened(target)
        self._clock = clock
        self._purged_for: dt.date | None = None  # the day this process last purged old rows (once a day is enough)
        self.db.migrate(city_migrations)

    def record(self, reports: list[dict[str, Any] | BranchReport], token_digest: str) -> tuple[int, int]:
        """Keep each report not seen before (by centre and seq) with its 15-minute history, all in one transaction;
        returns (accepted, duplicates). ``reports`` are :class:`BranchReport` dumps (``at`` a datetime or ISO text),
        checked here, or reports the route already checked.

        A report older than :data:`LEDGER_DAYS` counts as a duplicate: the duplicate check no longer remembers
        that far back, and a branch never sends anything so old (it drops it after 7 days).
        """
        parsed = [report if isinstance(report, BranchReport) else BranchReport.model_validate(report)
                  for report in reports]
        now = self._clock()
        received_at = _local(now)
        oldest = now - LEDGER_DAYS * 86400
        accepted = 0
        with self.db.transaction(lock="city") as conn:
            for report in parsed:
                at_s = report.at.timestamp()
                if at_s < oldest or not self._first_time(conn, report, at_s, now, token_digest):
                    continue
                accepted += 1
                body = {**report.model_dump(mode="json"), "at": _local(at_s)}
                conn.execute(_LATEST_UPSERT, [report.centre, report.seq, at_s, received_at,
                                              json.dumps(body, ensure_ascii=False)])
                slot_s = _slot_start(report.at).timestamp()
                conn.executemany(_HISTORY_UPSERT, [
                    (report.centre, slot_s, s.code, at_s, s.waiting, s.waiting, s.issued, s.served, s.no_shows,
                     s.wait_now_min, s.wait_p90_min) for s in report.services])
            if accepted:
                conn.execute("UPDATE city_version SET n = n + 1 WHERE id = 1")
        self._purge_daily(now)
        return accepted, len(parsed) - accepted

    def _first_time(self, conn: Connection, report: BranchReport, at_s: float, now: float, digest: str) -> bool:
        """Note (centre, seq) as seen; False when it was seen before (a re-sent report)."""
        seen = conn.execute("SELECT at_s FROM city_seen WHERE centre = ? AND seq = ?",
                            [report.centre, report.seq]).fetchone()
        if seen is None:
            conn.execute("INSERT INTO city_seen (centre, seq, at_s, received_at_s, token_digest) "
                         "VALUES (?, ?, ?, ?, ?)", [report.centre, report.seq, at_s, now, digest])
            return True
        if abs(seen[0] - at_s) > 0.001:  # not a re-send: the branch numbers from 1 again (a new queue database)
            log.warning("centre %s sent seq %d again for another time (%s, first %s): was its queue database "
                        "replaced? Those reports are ignored until its numbers pass the old ones",
                        report.centre, report.seq, _local(at_s), _local(seen[0]))
        return False

    def centres(self) -> list[dict[str, Any]]:
        """The newest report of each centre with ``received_at`` (local ISO time), by name then id."""
        rows = self.db.query("SELECT report, received_at FROM city_latest")
        latest = [{**json.loads(report), "received_at": received_at} for report, received_at in rows]
        return sorted(latest, key=lambda entry: (entry["name"], entry["centre"]))

    def history(self, centre: str, since: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
        """Rows per 15-minute slot (its local start in ``[since, until)``) and service, oldest slot first; the
        counts are the day's cumulative figures at the slot's last report."""
        rows = self.db.query(
            "SELECT slot_s, service, waiting_last, waiting_max, issued, served, no_shows, wait_now_min, wait_p90_min "
            "FROM city_history WHERE centre = ? AND slot_s >= ? AND slot_s < ? ORDER BY slot_s, service",
            [centre, since.timestamp(), until.timestamp()])
        return [{"slot": _local(slot_s), "service": service, "waiting_last": waiting_last, "waiting_max": waiting_max,
                 "issued": issued, "served": served, "no_shows": no_shows, "wait_now_min": wait_now,
                 "wait_p90_min": wait_p90}
                for slot_s, service, waiting_last, waiting_max, issued, served, no_shows, wait_now, wait_p90 in rows]

    def version(self) -> str:
        """A text that changes whenever a report is recorded, by any process (a live page polls it)."""
        return str(self.db.query("SELECT n FROM city_version WHERE id = 1")[0][0])

    def purge_before(self, day: dt.date) -> int:
        """Delete history slots and duplicate-check entries before ``day`` (local); returns the rows deleted.
        The newest report of each centre stays, however old, so a centre that stopped reporting still shows."""
        cutoff = _midnight(day)
        with self.db.transaction(lock="city") as conn:
            history = conn.execute("DELETE FROM city_history WHERE slot_s < ?", [cutoff]).rowcount
            seen = conn.execute("DELETE FROM city_seen WHERE at_s < ?", [cutoff]).rowcount
        return history + seen

    def _purge_daily(self, now: float) -> None:
        """Once a day per process: history older than :data:`HISTORY_DAYS`, the duplicate check's entries older
        than :data:`LEDGER_DAYS` (both bounded however long the backend runs)."""
        today = dt.datetime.fromtimestamp(now, LOCAL_TZ).date()
        if self._purged_for == today:
            return
        self._purged_for = today
        self.purge_before(today - dt.timedelta(days=HISTORY_DAYS))
        with self.db.transaction(lock="city") as conn:
            conn.execute("DELETE FROM city_seen WHERE at_s < ?", [_midnight(today - dt.timedelta(days=LEDGER_DAYS))])


def city_report_endpoints(city: CityStore) -> list[Endpoint]:
    async def receive(call: Call) -> Response:
        batch: ReportBatch = call.body
        accepted, duplicates = city.record(list(batch.reports), hash_token(bearer(call.request)))
        return JSONResponse({"accepted": accepted, "duplicates": duplicates})

    return [Endpoint("POST", "/api/city/reports", receive,
                     "A branch queue server's figures (1..200 snapshots, oldest first); each (centre, seq) is kept "
                     "once, a re-sent one counts as a duplicate", auth="report", body=ReportBatch,
                     max_body=MAX_BATCH_BYTES)]
