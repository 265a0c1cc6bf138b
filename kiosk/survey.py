"""Satisfaction survey: a 1–5 rating with optional reasons, stored locally before anything else happens.

Answers are anonymous (no session data is attached) and kept in ``<data dir>/survey.db``; the fleet sync sends
undelivered rows to the backend, which reports them per branch and service. Reasons are codes, not free text, so
nobody can type personal data into them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlite_utils

from kiosk.storage import check_and_repair

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SCORES = (1, 2, 3, 4, 5)
REASONS = ("wait_time", "staff_attitude", "guidance", "facilities", "kiosk_easy", "kiosk_hard")


class InvalidAnswer(ValueError):
    """A score or reason the survey does not offer."""


@dataclass(frozen=True)
class DailyFigure:
    day: str
    service: str
    answers: int
    average: float
    satisfied_share: float  # share of 4 and 5


class SurveyStore:
    def __init__(self, path: Path, kiosk_id: str, clock: Callable[[], dt.datetime] | None = None) -> None:
        check_and_repair(path)
        self._db = sqlite_utils.Database(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._kiosk_id = kiosk_id
        self._clock = clock or (lambda: dt.datetime.now(LOCAL_TZ))
        self._db["answers"].create(
            {"id": int, "answered_at": str, "day": str, "kiosk_id": str, "service": str, "counter": int,
             "score": int, "reasons": str, "delivered": int},
            pk="id", not_null={"answered_at", "score"}, defaults={"delivered": 0}, if_not_exists=True,
        )

    def record(self, score: int, reasons: tuple[str, ...] = (), service: str = "", counter: int | None = None) -> int:
        if score not in SCORES:
            raise InvalidAnswer(f"score must be 1–5, got {score!r}")
        unknown = set(reasons) - set(REASONS)
        if unknown:
            raise InvalidAnswer(f"unknown reasons: {sorted(unknown)}")
        now = self._clock()
        with self._db.conn:
            table = self._db["answers"].insert({
                "answered_at": now.isoformat(), "day": now.date().isoformat(), "kiosk_id": self._kiosk_id,
                "service": service, "counter": counter, "score": score, "reasons": json.dumps(sorted(reasons)),
            })
        return int(table.last_pk)

    def undelivered(self, limit: int = 100) -> list[dict]:
        return list(self._db["answers"].rows_where("delivered = 0", order_by="id", limit=limit))

    def mark_delivered(self, ids: list[int]) -> None:
        with self._db.conn:
            self._db.execute(f"UPDATE answers SET delivered = 1 WHERE id IN ({','.join('?' * len(ids))})", ids)

    def daily(self, day: dt.date) -> list[DailyFigure]:
        rows = self._db.execute(
            "SELECT service, COUNT(*), AVG(score), AVG(score >= 4) FROM answers WHERE day = ? GROUP BY service "
            "ORDER BY service", [day.isoformat()],
        ).fetchall()
        return [DailyFigure(day.isoformat(), service, count, round(avg, 2), round(share, 3))
                for service, count, avg, share in rows]
