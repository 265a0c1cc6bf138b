"""The reference backend's data: procedure catalogue, dossiers with a timeline, bookings, idempotency, tokens.

Plain SQL on SQLite with named migrations (the queue engine's runner). Dossier codes follow the national format
``<agency code>-<yymmdd>-<4-digit sequence>``, numbered per agency per day inside the submitting transaction.
The sequence is fixed-width (Circular 01/2018/TT-VPCP; every reader of the codes, our kiosks' included, expects
four digits), so the 10,000th filing of a day for an agency is refused (:class:`NumberingFull`) rather than given
a code no one could read back; the kiosk keeps it in its outbox and files it after midnight.
Submissions are idempotent: the ``Idempotency-Key`` is stored with a hash of the request body, a repeat returns
the first dossier and a different body under the same key is a conflict. Personal data is kept only in the
dossier's form; status answers carry the applicant's name masked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from config.localtime import LOCAL_TZ
from contracts.forms import check_form
from contracts.migrations import Migrations
from contracts.text import mask_name
from contracts.workdays import add_working_days

log = logging.getLogger(__name__)
SEED = Path(__file__).with_name("seed") / "procedures.json"
STATUSES = ("received", "processing", "needs_documents", "result_ready", "returned")
migrations = Migrations()


TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)
MAX_DAILY_SEQUENCE = 9999  # the national format's sequence is four digits (docs/formats.md)


@dataclass(frozen=True)
class IssuedToken:
    """A kiosk token as the admin pages show it: never the token, only its hash (to name it in a revoke form)."""

    hash: str
    kiosk_id: str | None
    created_at: str | None  # ISO, local time; None for a token configured from the environment
    last_used_at: str | None


class NotFound(LookupError):
    pass


class Conflict(Exception):
    pass


class Invalid(ValueError):
    pass


class NumberingFull(Exception):
    """The agency's dossier sequence for today is used up: no code can be issued before the next day."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@migrations("0001_backend")
def _schema(db: sqlite_utils.Database) -> None:
    # statement by statement: executescript would COMMIT the migration's transaction half-way
    for statement in """
        CREATE TABLE procedures (id TEXT PRIMARY KEY, data TEXT NOT NULL);
        CREATE TABLE life_events (id TEXT PRIMARY KEY, data TEXT NOT NULL);
        CREATE TABLE dossiers (
            code TEXT PRIMARY KEY, procedure_id TEXT NOT NULL, status TEXT NOT NULL, applicant_name TEXT,
            form TEXT NOT NULL, received_at TEXT NOT NULL, due_date TEXT NOT NULL, fee INTEGER NOT NULL,
            paid INTEGER NOT NULL DEFAULT 0, missing TEXT, pickup TEXT, kiosk_id TEXT, linked_to TEXT);
        CREATE TABLE timeline (code TEXT NOT NULL, at TEXT NOT NULL, status TEXT NOT NULL, note TEXT);
        CREATE TABLE day_counters (agency TEXT NOT NULL, day TEXT NOT NULL, last INTEGER NOT NULL,
                                   PRIMARY KEY (agency, day));
        CREATE TABLE idempotency (key TEXT PRIMARY KEY, body_hash TEXT NOT NULL, code TEXT NOT NULL);
        CREATE TABLE bookings (code TEXT PRIMARY KEY, service TEXT NOT NULL, starts_at TEXT NOT NULL,
                               ends_at TEXT NOT NULL, checked_in_at TEXT);
        CREATE TABLE tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL, kiosk_id TEXT);
    """.split(";"):
        if statement.strip():
            db.execute(statement)


@migrations("0002_token_use")
def _token_use(db: sqlite_utils.Database) -> None:
    # beside ``tokens`` (whose rows other code writes whole): when a kiosk token was issued and last used
    db.execute("CREATE TABLE token_use (hash TEXT PRIMARY KEY, created_at TEXT, last_used_at TEXT)")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()




class BackendStore:
    def __init__(self, path: Path | str, agency: str = "000.00.13.H26",
                 clock=lambda: dt.datetime.now(LOCAL_TZ)) -> None:
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.Lock()
        self.agency = agency
        self._clock = clock
        migrations.apply(sqlite_utils.Database(self._conn))

    # -- transactions ---------------------------------------------------------------------------------------
    def _tx(self):
        store = self

        class _Tx:
            def __enter__(self) -> sqlite3.Connection:
                store._lock.acquire()
                store._conn.execute("BEGIN IMMEDIATE")
                return store._conn

            def __exit__(self, exc_type, *_rest) -> None:
                store._conn.execute("ROLLBACK" if exc_type else "COMMIT")
                store._lock.release()

        return _Tx()

    def _query(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- seed ---------------------------------------------------------------------------------------------------
    def seed(self) -> None:
        """Load the catalogue and the demo dossiers/bookings listed in docs/demo-dossiers.md (idempotent)."""
        data = json.loads(SEED.read_text(encoding="utf-8"))
        with self._tx() as conn:
            for proc in data["procedures"]:
                conn.execute("INSERT OR REPLACE INTO procedures VALUES (?, ?)", [proc["id"], json.dumps(proc)])
            for key, event in data["life_events"].items():
                conn.execute("INSERT OR REPLACE INTO life_events VALUES (?, ?)", [key, json.dumps(event)])
        self._seed_demo_booking()
        if self._query("SELECT 1 FROM dossiers WHERE code LIKE '%-251120-%'"):
            return
        demo = [("HT01", "received", None, None), ("CT01", "processing", None, None),
                ("CT02", "needs_documents", "Bản sao hợp đồng thuê nhà có công chứng", None),
                ("KD01", "result_ready", None, "Quầy số 7, Trung tâm Phục vụ hành chính công phường Hoàn Kiếm, "
                                                 "từ 8:00 đến 17:00 các ngày làm việc"),
                ("TP01", "returned", None, None)]
        received = dt.datetime(2025, 11, 20, 9, 30, tzinfo=LOCAL_TZ)
        for seq, (proc_id, status, missing, pickup) in enumerate(demo, start=1):
            code = f"{self.agency}-251120-{seq:04d}"
            proc = self.procedure(proc_id)
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO dossiers (code, procedure_id, status, applicant_name, form, received_at, due_date,"
                    " fee, paid, missing, pickup) VALUES (?, ?, ?, ?, '{}', ?, ?, ?, ?, ?, ?)",
                    [code, proc_id, status, "Nguyễn Văn An", received.isoformat(),
                     add_working_days(received.date(), proc["days"]).isoformat(), proc["fee"],
                     int(status in ("result_ready", "returned")), missing, pickup])
                for step in STATUSES[: STATUSES.index(status) + 1]:
                    if step == "needs_documents" and status != "needs_documents":
                        continue
                    conn.execute("INSERT INTO timeline VALUES (?, ?, ?, ?)", [code, received.isoformat(), step, None])
                conn.execute("INSERT OR IGNORE INTO day_counters VALUES (?, '251120', ?)", [self.agency, len(demo)])

    def _seed_demo_booking(self) -> None:
        """A demo booking valid all of today (refreshed at every start, so it can be tried any day)."""
        today = self._clock().date().isoformat()
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO bookings VALUES ('BK-251120-DEMO01', 'HT', ?, ?, NULL)",
                         [f"{today}T00:00:00+07:00", f"{today}T23:59:59+07:00"])

    # -- tokens ---------------------------------------------------------------------------------------------
    def add_token(self, role: str, kiosk_id: str | None = None, token: str | None = None) -> str:
        token = token or secrets.token_urlsafe(24)
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?)", [hash_token(token), role, kiosk_id])
            conn.execute("INSERT OR REPLACE INTO token_use VALUES (?, ?, NULL)",
                         [hash_token(token), self._clock().isoformat(timespec="seconds")])
        return token

    def replace_tokens(self, role: str, kiosk_id: str | None, tokens: list[str]) -> None:
        """Make ``tokens`` the only ones of ``role`` issued to ``kiosk_id``: a token taken out of the server's
        configuration (environment, file) stops working at the next start instead of living on in the database."""
        with self._tx() as conn:
            conn.execute("DELETE FROM tokens WHERE role = ? AND kiosk_id IS ?", [role, kiosk_id])
            conn.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?)",
                             [(hash_token(token), role, kiosk_id) for token in tokens])

    def token_role(self, token: str) -> tuple[str, str | None] | None:
        """(role, kiosk id) of a live token, or None; notes when it was used (to the minute, so not every request
        writes)."""
        digest = hash_token(token)
        rows = self._query("SELECT role, kiosk_id, last_used_at FROM tokens LEFT JOIN token_use USING (hash) "
                           "WHERE hash = ?", [digest])
        if not rows:
            return None
        role, kiosk_id, last_used = rows[0]
        now = self._clock()
        if last_used is None or now - dt.datetime.fromisoformat(last_used) >= TOKEN_USE_RESOLUTION:
            with self._tx() as conn:
                conn.execute("INSERT INTO token_use (hash, last_used_at) VALUES (?, ?) ON CONFLICT (hash) "
                             "DO UPDATE SET last_used_at = excluded.last_used_at",
                             [digest, now.isoformat(timespec="seconds")])
        return role, kiosk_id

    def kiosk_tokens(self) -> list[IssuedToken]:
        """Every live kiosk token, newest first: what the admin pages list for revoking."""
        rows = self._query("SELECT hash, kiosk_id, created_at, last_used_at FROM tokens LEFT JOIN token_use "
                           "USING (hash) WHERE role = 'kiosk' ORDER BY created_at DESC, kiosk_id")
        return [IssuedToken(*row) for row in rows]

    def revoke_token(self, digest: str) -> str | None:
        """Delete the kiosk token whose hash is ``digest``: its next request gets 401. Returns its kiosk id ("" for
        a token issued to no kiosk), or None when there was no such kiosk token (admin tokens are not revoked here).
        """
        with self._tx() as conn:
            row = conn.execute("SELECT kiosk_id FROM tokens WHERE hash = ? AND role = 'kiosk'", [digest]).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM tokens WHERE hash = ?", [digest])
            conn.execute("DELETE FROM token_use WHERE hash = ?", [digest])
        return row[0] or ""

    # -- catalogue --------------------------------------------------------------------------------------------
    def procedures(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self._query("SELECT data FROM procedures ORDER BY id")]

    def procedure(self, proc_id: str) -> dict[str, Any]:
        rows = self._query("SELECT data FROM procedures WHERE id = ?", [proc_id])
        if not rows:
            raise NotFound(f"no procedure {proc_id}")
        return json.loads(rows[0][0])

    def life_events(self) -> dict[str, Any]:
        return {key: json.loads(data) for key, data in self._query("SELECT id, data FROM life_events")}

    # -- dossiers ---------------------------------------------------------------------------------------------
    def submit(self, key: str, body: dict[str, Any], kiosk_id: str | None) -> tuple[dict[str, Any], bool]:
        """Create a dossier once per idempotency key; returns (dossier, created)."""
        proc = self.procedure(str(body.get("procedure_id", "")))
        if not proc["kiosk"]:
            raise Invalid(f"procedure {proc['id']} cannot be filed at a kiosk")
        form = body.get("form")
        if not isinstance(form, dict):
            raise Invalid("form must be an object")
        errors = check_form(proc["form"], form, lambda: self._clock().date())
        if errors:
            raise Invalid("form: " + "; ".join(f"{name}: {code}" for name, code in sorted(errors.items())[:10]))
        body_hash = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        now = self._clock()
        with self._tx() as conn:
            seen = conn.execute("SELECT body_hash, code FROM idempotency WHERE key = ?", [key]).fetchone()
            if seen:
                if seen[0] != body_hash:
                    raise Conflict("this Idempotency-Key was used for a different submission")
                code, created = seen[1], False
            else:
                day = now.strftime("%y%m%d")
                row = conn.execute("SELECT last FROM day_counters WHERE agency = ? AND day = ?",
                                   [self.agency, day]).fetchone()
                seq = (row[0] if row else 0) + 1
                if seq > MAX_DAILY_SEQUENCE:
                    raise self._numbering_full(now, day)
                conn.execute("INSERT OR REPLACE INTO day_counters VALUES (?, ?, ?)", [self.agency, day, seq])
                code = f"{self.agency}-{day}-{seq:04d}"
                conn.execute(
                    "INSERT INTO dossiers (code, procedure_id, status, applicant_name, form, received_at, due_date,"
                    " fee, kiosk_id, linked_to) VALUES (?, ?, 'received', ?, ?, ?, ?, ?, ?, ?)",
                    [code, proc["id"], str(form.get("applicant_name", ""))[:100] or None,
                     json.dumps(form, ensure_ascii=False), now.isoformat(),
                     add_working_days(now.date(), proc["days"]).isoformat(), proc["fee"], kiosk_id,
                     body.get("linked_to")])
                conn.execute("INSERT INTO timeline VALUES (?, ?, 'received', NULL)", [code, now.isoformat()])
                conn.execute("INSERT INTO idempotency VALUES (?, ?, ?)", [key, body_hash, code])
                created = True
        return self.status(code), created

    def _numbering_full(self, now: dt.datetime, day: str) -> NumberingFull:
        """The refusal of a filing past the day's last code, and one log line for whoever watches the server."""
        midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), now.tzinfo)
        log.warning("dossier numbering full: %s has used all %d codes of %s; filings are refused until midnight",
                    self.agency, MAX_DAILY_SEQUENCE, day)
        return NumberingFull(f"{self.agency} has issued all {MAX_DAILY_SEQUENCE} dossier codes of today (the "
                             "national format has a 4-digit sequence); file again after midnight",
                             max(1, int((midnight - now).total_seconds())))

    def status(self, code: str) -> dict[str, Any]:
        """What a code-only look-up may show: status, dates, fee and the masked name, never the form.

        Codes here are canonical (``contracts.codes.canonical_code``, applied by the routes), as in every method.
        """
        rows = self._query("SELECT code, procedure_id, status, applicant_name, received_at, due_date, fee, paid, "
                           "missing, pickup FROM dossiers WHERE code = ?", [code])
        if not rows:
            raise NotFound(f"no dossier {code}")
        code, proc_id, status, name, received, due, fee, paid, missing, pickup = rows[0]
        proc = self.procedure(proc_id)
        timeline = [{"at": at, "status": st, "note": note} for at, st, note in self._query(
            "SELECT at, status, note FROM timeline WHERE code = ? ORDER BY rowid", [code])]
        return {"code": code, "procedure_id": proc_id, "procedure_vi": proc["name_vi"],
                "procedure_en": proc["name_en"], "status": status, "applicant": mask_name(name),
                "received_at": received, "due_date": due, "fee": fee, "paid": bool(paid), "missing": missing,
                "pickup": pickup, "timeline": timeline}

    def count_dossiers(self) -> int:
        return self._query("SELECT COUNT(*) FROM dossiers")[0][0]

    def mark_paid(self, code: str) -> dict[str, Any]:
        self.status(code)
        with self._tx() as conn:
            conn.execute("UPDATE dossiers SET paid = 1 WHERE code = ?", [code])
        return self.status(code)

    # -- bookings -----------------------------------------------------------------------------------------------
    def check_in(self, code: str, tolerance_min: int = 15) -> dict[str, Any]:
        """Check a booking in; raises NotFound, or Invalid with reason too_early / too_late / used."""
        now = self._clock()
        with self._tx() as conn:
            row = conn.execute("SELECT service, starts_at, ends_at, checked_in_at FROM bookings WHERE code = ?",
                               [code]).fetchone()
            if row is None:
                raise NotFound(f"no booking {code}")
            service, starts, ends, used = row
            margin = dt.timedelta(minutes=tolerance_min)
            if used:
                raise Invalid("used")
            if now < dt.datetime.fromisoformat(starts) - margin:
                raise Invalid("too_early")
            if now > dt.datetime.fromisoformat(ends) + margin:
                raise Invalid("too_late")
            conn.execute("UPDATE bookings SET checked_in_at = ? WHERE code = ?", [now.isoformat(), code])
        return {"code": code, "service": service, "starts_at": starts, "ends_at": ends}
