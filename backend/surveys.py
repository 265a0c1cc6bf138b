"""Satisfaction survey answers from kiosks, and the daily figures per branch and service the city counts.

::

    POST /api/surveys                              kiosk token, Idempotency-Key header; body: :class:`SurveyAnswer`
         201 {"id", "day"} · 200 the same answer again · 400 no key · 409 the key with another answer
         413 too big · 422 {"message": "<key>: <what is wrong>"}
    GET  /api/reports/surveys?day=D[&branch=B]     report or admin token; 200 {"day", "branch", "reasons", "branches": [
             {"branch", <figures>, "services": [{"service", <figures>}]}]}
    GET  /api/reports/surveys.csv?day=D[&branch=B] report or admin token; text/csv (UTF-8 with BOM, for spreadsheets)

Figures are ``count``, ``average`` (2 decimals), ``satisfied_share`` (share of 4 and 5, 3 decimals) and
``reasons`` (how many answers named each code). ``day`` defaults to today; ``service`` is "" for an answer given
from the home screen. In the CSV a branch's total row has service ``*``.

An answer is anonymous: a rating, reason codes from a fixed list, where (branch, service, counter) and when; the
body refuses any other key, so no personal data can ride along. Each Idempotency-Key is kept with a hash of its
answer, as for dossiers: a kiosk re-sending after a lost reply adds nothing. Answers count on the local day they
were given, not the day they arrived, so a kiosk that was offline overnight reports late but on the right day.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlite_utils
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse, Response

from backend.store import Conflict, Invalid
from config.localtime import LOCAL_TZ
from contracts.http import Call, Endpoint, Param, Refused
from contracts.migrations import Migrations
from contracts.survey import KINDS, REASONS, SERVICE_PATTERN

MAX_ANSWER_BYTES = 4 * 1024
MAX_CLOCK_AHEAD = dt.timedelta(days=1)  # a kiosk clock further ahead than this would file answers on a wrong day
DAY_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
survey_migrations = Migrations()


@survey_migrations("surveys_0001_answers")
def _schema(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE survey_answers (id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, "
               "body_hash TEXT NOT NULL, kiosk_id TEXT, branch TEXT NOT NULL, service TEXT NOT NULL, "
               "counter INTEGER, kind TEXT NOT NULL, rating INTEGER NOT NULL, answered_at TEXT NOT NULL, "
               "day TEXT NOT NULL, received_at TEXT NOT NULL)")
    db.execute("CREATE INDEX survey_answers_day ON survey_answers (day, branch)")
    db.execute("CREATE TABLE survey_reasons (answer_id INTEGER NOT NULL REFERENCES survey_answers (id), "
               "reason TEXT NOT NULL, PRIMARY KEY (answer_id, reason))")


class SurveyAnswer(BaseModel):
    """One rating as a kiosk sends it; ``reasons`` come back sorted, so a repeat in another order is the same."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rating: int = Field(ge=1, le=5, strict=True)
    reasons: list[Literal[REASONS]] = Field(default=[], max_length=len(REASONS))  # type: ignore[valid-type]
    service: str = Field(default="", pattern=SERVICE_PATTERN)
    counter: int | None = Field(default=None, ge=1, le=999, strict=True)
    kind: Literal[KINDS]  # type: ignore[valid-type]
    branch: str = Field(min_length=1, max_length=100)
    answered_at: AwareDatetime

    @field_validator("branch")
    @classmethod
    def _plain_name(cls, branch: str) -> str:
        # a leading = + - @ would run as a formula when the CSV report is opened in a spreadsheet
        if branch[0] in "=+-@ " or any(ord(char) < 32 or ord(char) == 127 for char in branch):
            raise ValueError("a plain name: no control characters, not starting with = + - @ or a space")
        return branch

    @field_validator("reasons")
    @classmethod
    def _once_each(cls, reasons: list[str]) -> list[str]:
        if len(set(reasons)) != len(reasons):
            raise ValueError("each reason at most once")
        return sorted(reasons)


@dataclass
class Figures:
    """Sums for one branch or service with at least one answer; a branch total adds sums, not rounded averages."""

    count: int = 0
    total: int = 0
    satisfied: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, other: Figures) -> None:
        self.count, self.total, self.satisfied = (self.count + other.count, self.total + other.total,
                                                  self.satisfied + other.satisfied)
        self.reasons.update(other.reasons)

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "average": round(self.total / self.count, 2),
                "satisfied_share": round(self.satisfied / self.count, 3),
                "reasons": {reason: self.reasons[reason] for reason in REASONS}}


class SurveyLedger:
    """Answers in SQLite (``:memory:`` keeps them for the life of the process)."""

    def __init__(self, path: str, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(LOCAL_TZ)) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        self._clock = clock
        survey_migrations.apply(sqlite_utils.Database(self._conn))

    def today(self) -> dt.date:
        return self._clock().astimezone(LOCAL_TZ).date()

    def record(self, key: str, answer: SurveyAnswer, kiosk_id: str | None) -> tuple[int, str, bool]:
        """Keep ``answer`` once per ``key``; returns (id, local day, created).

        :raises Invalid: answered more than a day ahead of the backend's clock.
        :raises Conflict: ``key`` was used for a different answer.
        """
        now = self._clock()
        if answer.answered_at > now + MAX_CLOCK_AHEAD:
            raise Invalid("answered_at: more than a day ahead of the backend's clock (check the kiosk's clock)")
        body_hash = hashlib.sha256(answer.model_dump_json().encode()).hexdigest()
        day = answer.answered_at.astimezone(LOCAL_TZ).date().isoformat()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                seen = self._conn.execute("SELECT id, day, body_hash FROM survey_answers WHERE key = ?",
                                          [key]).fetchone()
                if seen and seen[2] != body_hash:
                    raise Conflict("this Idempotency-Key was used for a different answer")
                if seen:
                    result = (seen[0], seen[1], False)
                else:
                    answer_id = self._conn.execute(
                        "INSERT INTO survey_answers (key, body_hash, kiosk_id, branch, service, counter, kind, "
                        "rating, answered_at, day, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [key, body_hash, kiosk_id, answer.branch, answer.service, answer.counter, answer.kind,
                         answer.rating, answer.answered_at.isoformat(), day, now.isoformat()]).lastrowid
                    self._conn.executemany("INSERT INTO survey_reasons VALUES (?, ?)",
                                           [(answer_id, reason) for reason in answer.reasons])
                    result = (answer_id, day, True)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return result

    def report(self, day: dt.date, branch: str | None = None) -> dict[str, Any]:
        """The day's figures per branch (all, or ``branch``) and, inside each, per service; sorted by name."""
        params = [day.isoformat(), branch]
        where = "a.day = ?1 AND (?2 IS NULL OR a.branch = ?2)"
        with self._lock:
            groups = self._conn.execute(
                f"SELECT a.branch, a.service, COUNT(*), SUM(a.rating), SUM(a.rating >= 4) FROM survey_answers a "
                f"WHERE {where} GROUP BY a.branch, a.service", params).fetchall()
            named = self._conn.execute(
                f"SELECT a.branch, a.service, r.reason, COUNT(*) FROM survey_reasons r "
                f"JOIN survey_answers a ON a.id = r.answer_id WHERE {where} GROUP BY a.branch, a.service, r.reason",
                params).fetchall()
        services: dict[str, dict[str, Figures]] = {}
        for branch_name, service, count, total, satisfied in groups:
            services.setdefault(branch_name, {})[service] = Figures(count, total, satisfied)
        for branch_name, service, reason, count in named:
            services[branch_name][service].reasons[reason] = count
        branches = []
        for branch_name in sorted(services):
            whole = Figures()
            for figures in services[branch_name].values():
                whole.add(figures)
            branches.append({"branch": branch_name, **whole.as_json(),
                             "services": [{"service": service, **services[branch_name][service].as_json()}
                                          for service in sorted(services[branch_name])]})
        return {"day": day.isoformat(), "branch": branch, "reasons": list(REASONS), "branches": branches}


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV: a branch's total row (service ``*``), then one row per service."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["day", "branch", "service", "count", "average", "satisfied_share", *REASONS])
    for branch in report["branches"]:
        for service, figures in [("*", branch), *((s["service"], s) for s in branch["services"])]:
            writer.writerow([report["day"], branch["branch"], service, figures["count"], figures["average"],
                             figures["satisfied_share"], *(figures["reasons"][reason] for reason in REASONS)])
    return "\ufeff" + out.getvalue()


def _report_query(query: QueryParams, ledger: SurveyLedger) -> tuple[dt.date, str | None]:
    """(day, branch) of a report request; raises :class:`Refused` (422) naming the bad parameter."""
    raw_day = query.get("day") or ledger.today().isoformat()
    branch = query.get("branch") or None
    try:
        day = dt.date.fromisoformat(raw_day) if DAY_PATTERN.match(raw_day) else None
    except ValueError:  # 2026-02-30
        day = None
    if day is None:
        raise Refused(422, "invalid", "day: expected a date as YYYY-MM-DD")
    if branch is not None and len(branch) > 100:
        raise Refused(422, "invalid", "branch: at most 100 characters")
    return day, branch


REPORT_PARAMS = (Param("day", {"type": "string", "format": "date"}, "YYYY-MM-DD, the local day; default today"),
                 Param("branch", {"type": "string", "maxLength": 100}))


def survey_endpoints(ledger: SurveyLedger) -> list[Endpoint]:
    async def submit(call: Call) -> Response:
        answer_id, day, created = ledger.record(call.key, call.body, call.caller[1])
        return JSONResponse({"id": answer_id, "day": day}, status_code=201 if created else 200)

    async def report(call: Call) -> Response:
        return JSONResponse(ledger.report(*_report_query(call.query, ledger)))

    async def report_as_csv(call: Call) -> Response:
        day, branch = _report_query(call.query, ledger)
        return Response(report_csv(ledger.report(day, branch)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="surveys-{day}.csv"'})

    return [
        Endpoint("POST", "/api/surveys", submit,
                 "Record a satisfaction survey answer (idempotent per Idempotency-Key)", auth="kiosk",
                 idempotent=True, body=SurveyAnswer, max_body=MAX_ANSWER_BYTES, errors=(409,),
                 ok={201: "the answer was recorded", 200: "repeat of an earlier answer"}),
        Endpoint("GET", "/api/reports/surveys", report, "A day's survey figures per branch and service: count, "
                 "average, share satisfied (4-5), reasons", auth="report", errors=(422,), params=REPORT_PARAMS),
        Endpoint("GET", "/api/reports/surveys.csv", report_as_csv,
                 "The same figures as CSV (UTF-8 with BOM; a branch's total row has service *)", auth="report",
                 errors=(422,), params=REPORT_PARAMS, produces="text/csv"),
    ]
