"""The fleet: the last heartbeat of every kiosk, and which kiosks need someone to look at them.

::

    POST /api/fleet/heartbeat        kiosk token (for its own kiosk_id); body: see :class:`HeartbeatBody`
         200 {"received_at"} · 403 another kiosk's id · 413 too big · 422 {"message": "<key>: <what is wrong>"}
    GET  /api/fleet[?branch=B]       admin token; 200 {"now", "branches", "kiosks": [<state, age_s, flags>]}
    GET  /api/fleet/{kiosk_id}/log   admin token; 200 {"kiosk_id", "received_at", "lines"} · 404 never heard of

Only the newest heartbeat of each kiosk is kept (one row per kiosk). Each heartbeat carries its own interval, so a
kiosk is *silent* once more than two of its intervals passed without one, whatever interval its config sets.
Flags are red (the kiosk cannot serve: silent, paper out, printer offline or failing) or orange (needs a visit
soon: paper low, an error reported, a failed installation check). Log lines, the last error and check details are
scrubbed again on arrival, so a kiosk running older software cannot leave an identity number in the backend.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import JSONResponse, Response

from backend.store import opened
from contracts.fleet import LOG_LINE_CHARS, LOG_TAIL_LINES, SHORT_TEXT_CHARS
from contracts.http import Call, Endpoint, Param, Refused
from contracts.migrations import Migrations
from contracts.scrub import scrub
from contracts.sqldb import Connection, Database

MAX_HEARTBEAT_BYTES = 128 * 1024
KIOSK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
SILENT_AFTER_INTERVALS = 2
RED_FLAGS = ("silent", "paper_out", "printer_offline", "printer_error")
ORANGE_FLAGS = ("paper_low", "error", "doctor")
fleet_migrations = Migrations()


@fleet_migrations("fleet_0001_heartbeats")
def _schema(conn: Connection) -> None:
    real = "DOUBLE PRECISION" if conn.dialect == "postgresql" else "REAL"
    conn.execute(f"CREATE TABLE heartbeats (kiosk_id TEXT PRIMARY KEY, branch TEXT NOT NULL, kiosk_group TEXT, "
                 f"received_at {real} NOT NULL, interval_s {real} NOT NULL, status TEXT NOT NULL, "
                 "log_tail TEXT NOT NULL)")
    conn.execute("CREATE INDEX heartbeats_branch ON heartbeats (branch)")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ShortText = Annotated[str, StringConstraints(max_length=SHORT_TEXT_CHARS)]
LogLine = Annotated[str, StringConstraints(max_length=LOG_LINE_CHARS)]


class DoctorResult(_Model):
    check: str = Field(min_length=1, max_length=40)
    ok: bool
    detail: ShortText = ""


class QueueFigures(_Model):
    waiting: int = Field(ge=0, le=1_000_000)
    open_services: int = Field(ge=0, le=10_000)
    services: int = Field(ge=0, le=10_000)


class HeartbeatBody(_Model):
    """What a kiosk reports; ``last_error``, doctor details and log lines carry no personal data (scrubbed)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Heartbeat")

    kiosk_id: str = Field(pattern=KIOSK_ID_PATTERN)
    interval_s: float = Field(ge=0.1, le=3600)
    branch: str = Field(min_length=1, max_length=100)
    group: str | None = Field(default=None, pattern=KIOSK_ID_PATTERN)
    app_version: str = Field(min_length=1, max_length=32)
    content_version: int | None = Field(default=None, ge=0, le=2**53)
    printer: Literal["ok", "paper_low", "paper_out", "offline", "error"]
    scanner: str = Field(pattern=r"^[a-z_]{1,20}$")
    outbox_depth: int = Field(ge=0, le=1_000_000)
    queue: QueueFigures | None = None
    uptime_s: float = Field(ge=0, le=10**9)
    last_error: ShortText | None = None
    doctor: list[DoctorResult] = Field(default=[], max_length=20)
    log_tail: list[LogLine] = Field(default=[], max_length=LOG_TAIL_LINES)


@dataclass(frozen=True)
class KioskState:
    """A kiosk as the dashboard shows it: its last heartbeat, how old that is, and what needs attention."""

    status: dict[str, Any]
    received_at: float
    age_s: float
    flags: tuple[str, ...]

    @property
    def kiosk_id(self) -> str:
        return self.status["kiosk_id"]

    @property
    def severity(self) -> Literal["red", "orange", "ok"]:
        if any(flag in RED_FLAGS for flag in self.flags):
            return "red"
        return "orange" if self.flags else "ok"

    def as_json(self) -> dict[str, Any]:
        return {**self.status, "last_seen": _iso(self.received_at), "age_s": round(self.age_s, 1),
                "severity": self.severity, "flags": list(self.flags)}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def flags_for(status: dict[str, Any], age_s: float) -> tuple[str, ...]:
    """Red flags first, in the order of :data:`RED_FLAGS` then :data:`ORANGE_FLAGS`."""
    printer = status["printer"]
    raised = {
        "silent": age_s > SILENT_AFTER_INTERVALS * status["interval_s"],
        "paper_out": printer == "paper_out",
        "printer_offline": printer == "offline",
        "printer_error": printer == "error",
        "paper_low": printer == "paper_low",
        "error": bool(status.get("last_error")),
        "doctor": any(not check["ok"] for check in status.get("doctor", [])),
    }
    return tuple(flag for flag in RED_FLAGS + ORANGE_FLAGS if raised[flag])


class FleetStore:
    """The newest heartbeat per kiosk in a database: a SQLite file (``:memory:`` keeps them for the life of the
    process) or the PostgreSQL database every backend process shares, so any of them shows the whole fleet."""

    def __init__(self, target: Database | str | Path, clock: Callable[[], float] = time.time) -> None:
        self.db = opened(target)
        self._clock = clock
        self.db.migrate(fleet_migrations)

    def record(self, beat: HeartbeatBody) -> float:
        """Keep ``beat`` as the kiosk's newest heartbeat; returns the time it was received."""
        now = self._clock()
        status = beat.model_dump(mode="json", exclude={"log_tail"})
        if status["last_error"]:
            status["last_error"] = scrub(status["last_error"])
        for check in status["doctor"]:
            check["detail"] = scrub(check["detail"])
        lines = [scrub(line)[:LOG_LINE_CHARS] for line in beat.log_tail]
        with self.db.connection() as conn:
            conn.execute(
                "INSERT INTO heartbeats (kiosk_id, branch, kiosk_group, received_at, interval_s, status, log_tail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kiosk_id) DO UPDATE SET branch = excluded.branch, "
                "kiosk_group = excluded.kiosk_group, received_at = excluded.received_at, "
                "interval_s = excluded.interval_s, status = excluded.status, log_tail = excluded.log_tail", [
                    beat.kiosk_id, beat.branch, beat.group, now, beat.interval_s,
                    json.dumps(status, ensure_ascii=False), json.dumps(lines, ensure_ascii=False)])
        return now

    def kiosks(self, branch: str | None = None) -> list[KioskState]:
        """Every kiosk (of ``branch`` when given), by branch then id."""
        where, params = ("WHERE branch = ?", [branch]) if branch is not None else ("", [])
        rows = self.db.query(f"SELECT received_at, status FROM heartbeats {where} ORDER BY branch, kiosk_id", params)
        now = self._clock()
        states = []
        for received_at, text in rows:
            status = json.loads(text)
            age = max(0.0, now - received_at)
            states.append(KioskState(status, received_at, age, flags_for(status, age)))
        return states

    def now(self) -> float:
        return self._clock()

    def branches(self) -> list[str]:
        return [row[0] for row in self.db.query("SELECT DISTINCT branch FROM heartbeats ORDER BY branch")]

    def group_of(self, kiosk_id: str) -> str | None:
        """The content group the kiosk last reported (None when it has none or never reported)."""
        rows = self.db.query("SELECT kiosk_group FROM heartbeats WHERE kiosk_id = ?", [kiosk_id])
        return rows[0][0] if rows else None

    def log_tail(self, kiosk_id: str) -> tuple[float, list[str], dict[str, Any]] | None:
        """(received at, log lines, status) of the kiosk's newest heartbeat, or None."""
        rows = self.db.query("SELECT received_at, log_tail, status FROM heartbeats WHERE kiosk_id = ?", [kiosk_id])
        return (rows[0][0], json.loads(rows[0][1]), json.loads(rows[0][2])) if rows else None


def fleet_endpoints(fleet: FleetStore) -> list[Endpoint]:
    async def heartbeat(call: Call) -> Response:
        beat: HeartbeatBody = call.body
        role, own_kiosk = call.caller
        if role != "admin" and own_kiosk is not None and own_kiosk != beat.kiosk_id:
            raise Refused(403, "forbidden", "a kiosk token may only report for its own kiosk")
        return JSONResponse({"received_at": _iso(fleet.record(beat))})

    async def listing(call: Call) -> Response:
        branch = call.query.get("branch") or None
        return JSONResponse({"now": _iso(fleet.now()), "branches": fleet.branches(),
                             "kiosks": [state.as_json() for state in fleet.kiosks(branch)]})

    async def kiosk_log(call: Call) -> Response:
        kiosk_id = call.path["kiosk_id"]
        found = fleet.log_tail(kiosk_id)
        if found is None:
            raise Refused(404, "not_found", f"no heartbeat from kiosk {kiosk_id[:32]}")
        return JSONResponse({"kiosk_id": kiosk_id, "received_at": _iso(found[0]), "lines": found[1]})

    return [
        Endpoint("POST", "/api/fleet/heartbeat", heartbeat,
                 "Report a kiosk's state (a kiosk token reports only for its own id)", auth="kiosk",
                 body=HeartbeatBody, max_body=MAX_HEARTBEAT_BYTES, errors=(403,)),
        Endpoint("GET", "/api/fleet", listing, "Kiosks with their last heartbeat, its age and flags (silent, "
                 "paper_out, paper_low, printer_offline, printer_error, error, doctor)", auth="admin",
                 params=(Param("branch", {"type": "string"}),)),
        Endpoint("GET", "/api/fleet/{kiosk_id}/log", kiosk_log, "The last log lines (≤ 50, scrubbed) a kiosk reported",
                 auth="admin", errors=(404,)),
    ]
