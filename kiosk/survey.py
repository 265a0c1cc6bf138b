"""Satisfaction survey: a 1–5 rating with optional reasons, stored locally before anything else happens.

Answers are anonymous (no session data is attached) and kept in ``<data dir>/survey.db`` for the kiosk's own
figures; each is also handed to the outbox (kind ``survey``) under its own idempotency key, which delivers it to
the backend's ``POST /api/surveys`` exactly once, and the backend reports them per branch and service. Reasons
are codes, not free text, so nobody can type personal data into them.

The answer and its outbox item are two commits in two files. :meth:`SurveyStore.reconcile`, run at start, closes
the gap: it hands the outbox every answer it does not hold (a crash between the commits, a full disk, an outbox
rebuilt after damage) and marks ``delivered`` the answers the outbox has delivered since.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from config.localtime import LOCAL_TZ
from contracts.migrations import Migrations
from contracts.storage import StorageFull, check_and_repair
from contracts.survey import KINDS, REASONS, SCORES, SERVICE_PATTERN

if TYPE_CHECKING:
    from kiosk.outbox import Outbox

survey_migrations = Migrations()


@survey_migrations("survey_0001_answers")
def _answers(db: sqlite_utils.Database) -> None:
    # IF NOT EXISTS: files written before the store used migrations already have the table
    db.execute("CREATE TABLE IF NOT EXISTS answers (id INTEGER PRIMARY KEY, answered_at TEXT NOT NULL, day TEXT, "
               "kiosk_id TEXT, service TEXT, counter INTEGER, score INTEGER NOT NULL, reasons TEXT, "
               "delivered INTEGER DEFAULT 0)")


@survey_migrations("survey_0002_outbox")
def _outbox_columns(db: sqlite_utils.Database) -> None:
    """What the backend needs to take each answer exactly once; answers already on file get their keys here."""
    db.execute("ALTER TABLE answers ADD COLUMN key TEXT")
    db.execute("ALTER TABLE answers ADD COLUMN kind TEXT NOT NULL DEFAULT 'standalone'")
    db.execute("ALTER TABLE answers ADD COLUMN branch TEXT")
    db.execute("UPDATE answers SET key = 'survey-' || lower(hex(randomblob(16)))")


class InvalidAnswer(ValueError):
    """A score, reason, service, counter or kind the survey does not offer."""


@dataclass(frozen=True)
class DailyFigure:
    day: str
    service: str
    answers: int
    average: float
    satisfied_share: float  # share of 4 and 5


class SurveyStore:
    def __init__(self, path: Path, kiosk_id: str, clock: Callable[[], dt.datetime] | None = None, *,
                 outbox: Outbox | None = None, branch: str = "") -> None:
        """:param outbox: where answers go to be sent (None: kept locally only).
        :param branch: the branch the backend files the answers under (required with an outbox)."""
        if outbox is not None and not branch:
            raise ValueError("answers sent to the backend need the kiosk's branch")
        check_and_repair(path)
        self._db = sqlite_utils.Database(sqlite3.connect(str(path), isolation_level=None, check_same_thread=False))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()  # the screen records on the UI thread, reconcile runs on a worker
        survey_migrations.apply(self._db)
        self._kiosk_id, self._outbox, self._branch = kiosk_id, outbox, branch
        self._clock = clock or (lambda: dt.datetime.now(LOCAL_TZ))

    def record(self, score: int, reasons: tuple[str, ...] = (), service: str = "", counter: int | None = None,
               kind: str = "standalone") -> int:
        """Store one answer, then hand it to the outbox; returns its local id.

        :raises InvalidAnswer: anything the survey does not offer (nothing is stored).
        """
        if score not in SCORES:
            raise InvalidAnswer(f"score must be 1–5, got {score!r}")
        unknown = set(reasons) - set(REASONS)
        if unknown:
            raise InvalidAnswer(f"unknown reasons: {sorted(unknown)}")
        if not re.match(SERVICE_PATTERN, service):
            raise InvalidAnswer(f"service must be a service code, got {service!r}")
        if counter is not None and not 1 <= counter <= 999:
            raise InvalidAnswer(f"counter must be 1–999, got {counter!r}")
        if kind not in KINDS:
            raise InvalidAnswer(f"kind must be one of {KINDS}, got {kind!r}")
        now = self._clock()
        row = {"answered_at": now.isoformat(), "day": now.date().isoformat(), "kiosk_id": self._kiosk_id,
               "service": service, "counter": counter, "score": score, "reasons": json.dumps(sorted(set(reasons))),
               "key": f"survey-{uuid.uuid4().hex}", "kind": kind, "branch": self._branch}
        with self._lock:
            row["id"] = int(self._db["answers"].insert(row).last_pk)
        self._hand_over([row])
        return row["id"]

    def reconcile(self) -> int:
        """Settle the local answers with the outbox (run at start); returns how many were handed over again."""
        if self._outbox is None:
            return 0
        states = {item["key"]: item["state"] for item in self._outbox.items()}  # read first: see below
        with self._lock:
            rows = list(self._db["answers"].rows_where("delivered = 0", order_by="id"))
        self.mark_delivered([row["id"] for row in rows if states.get(row["key"]) == "delivered"])
        # an answer recorded after ``states`` was read is handed over twice: the outbox keeps the first
        missing = [row for row in rows if row["key"] not in states]
        self._hand_over(missing)
        return len(missing)

    def _hand_over(self, rows: list[dict[str, Any]]) -> None:
        if self._outbox is None or not rows:
            return
        answers = [(row["key"], {
            "rating": row["score"], "reasons": json.loads(row["reasons"] or "[]"), "service": row["service"] or "",
            "counter": row["counter"], "kind": row["kind"], "branch": row["branch"] or self._branch,
            "answered_at": row["answered_at"]}) for row in rows]
        try:
            self._outbox.add_all(answers, kind="survey")
        except StorageFull:
            pass  # reported by the outbox; the answer is safe here and the next reconcile hands it over

    def undelivered(self, limit: int = 100) -> list[dict]:
        with self._lock:
            return list(self._db["answers"].rows_where("delivered = 0", order_by="id", limit=limit))

    def mark_delivered(self, ids: list[int]) -> None:
        if not ids:
            return
        with self._lock:
            self._db.execute(f"UPDATE answers SET delivered = 1 WHERE id IN ({','.join('?' * len(ids))})", ids)

    def purge_delivered(self, older_than_days: int, now: dt.datetime | None = None) -> int:
        """Delete the delivered answers given more than ``older_than_days`` days before ``now`` (default: the
        store's clock); an answer the backend does not have yet stays whatever its age. Returns how many went."""
        cutoff = ((now or self._clock()) - dt.timedelta(days=older_than_days)).date().isoformat()
        with self._lock:
            return self._db.execute("DELETE FROM answers WHERE delivered = 1 AND day < ?", [cutoff]).rowcount

    def daily(self, day: dt.date) -> list[DailyFigure]:
        with self._lock:
            rows = self._db.execute(
                "SELECT service, COUNT(*), AVG(score), AVG(score >= 4) FROM answers WHERE day = ? GROUP BY service "
                "ORDER BY service", [day.isoformat()],
            ).fetchall()
        return [DailyFigure(day.isoformat(), service, count, round(avg, 2), round(share, 3))
                for service, count, avg, share in rows]
