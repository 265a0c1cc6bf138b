"""The outbox: every submission is committed locally before the citizen gets a receipt, then delivered once.

Each item carries its idempotency key, so re-sending after a timeout, a crash or a kill -9 can never create a
second dossier (the backend returns the first). Items are sent in order by one sender thread with exponential
backoff while the backend is unavailable; a 4xx rejection moves the item to the dead-letter list for technicians.
Once delivered, the form (personal data) is purged and only the key, the dossier code and the times remain.

A poison item (one the backend fails on with a 5xx, whatever the kiosk does) must not hold up the others: after its
first 5xx an item goes behind every item that never failed, so later filings keep flowing, and it is still tried
once per delivery pass. After ``poison_failures`` 5xx answers over at least ``poison_after`` (both) it is
dead-lettered: kept for a technician, who can queue it again (``outbox retry``). Three 5xx in a row end a pass:
then the backend is failing for everyone, not on one item. A dead item's form is deleted after the retention days
(:meth:`Outbox.purge_dead`); its reference, error and dates stay.
Until then the receipt shows the local reference ``KS.<kiosk>-<yymmdd>-<seq>``, which lookups accept too.

Items have a kind naming the call that delivers them (:data:`SENDERS`): ``dossier`` (``POST /api/dossiers``) or
``survey`` (``POST /api/surveys``). All kinds share one queue, one order and the same exactly-once rules.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.localtime import LOCAL_TZ
from config.schema import KioskConfig
from contracts.codes import canonical_code
from contracts.storage import check_and_repair, private_dir, storage_full
from kiosk.backend_client import BackendClient, BackendFailed, BackendRejected, BackendUnavailable

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 300.0
# Answers that say "not now" about the kiosk, not "never" about the item: keep the item and try again later.
TRANSIENT_STATUSES = frozenset({401, 403, 408, 425, 429})
FAILURES_IN_A_ROW = 3  # 5xx answers in a row that end a delivery pass: the backend fails for everyone
PURGED_FORM = "{}"
# columns added after the first release: an older file gets them at open
LATER_COLUMNS = {"kind": "TEXT NOT NULL DEFAULT 'dossier'", "failures": "INTEGER NOT NULL DEFAULT 0",
                 "first_failed_at": "TEXT", "dead_at": "TEXT"}


def _send_dossier(client: BackendClient, key: str, body: dict[str, Any]) -> str | None:
    return client.submit(key, body)["code"]


def _send_survey(client: BackendClient, key: str, body: dict[str, Any]) -> str | None:
    client.submit_survey(key, body)
    return None  # an answer has no code anyone looks up


# kind → the call that delivers an item and returns the code to keep for it
SENDERS: dict[str, Callable[[BackendClient, str, dict[str, Any]], str | None]] = {
    "dossier": _send_dossier, "survey": _send_survey}


class Outbox:
    def __init__(self, path: Path, kiosk_id: str, clock: Callable[[], dt.datetime] | None = None, *,
                 poison_failures: int = 10, poison_after: dt.timedelta = dt.timedelta(days=1)) -> None:
        private_dir(path.parent)
        check_and_repair(path)
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # a receipt was printed for this row: survive power loss
        self._conn.execute("PRAGMA secure_delete=ON")  # a purged form is overwritten, not left in free pages
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE NOT NULL,"
            " local_ref TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
            " created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, code TEXT, error TEXT,"
            " delivered_at TEXT)")
        present = {row[1] for row in self._conn.execute("PRAGMA table_info(outbox)")}
        for column, definition in LATER_COLUMNS.items():
            if column not in present:
                self._conn.execute(f"ALTER TABLE outbox ADD COLUMN {column} {definition}")
        self._poison_failures, self._poison_after = poison_failures, poison_after
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        # canonical like the codes a citizen scans or types (and :meth:`find` searches with), so the reference
        # of a kiosk "hn-hk-01" is KS.HNHK01-…, found whatever case or width it comes back in
        self._kiosk = re.sub(r"[^A-Z0-9]", "", canonical_code(kiosk_id))[:12] or "KIOSK"
        self._clock = clock or (lambda: dt.datetime.now(LOCAL_TZ))

    def add(self, key: str, body: dict[str, Any], kind: str = "dossier") -> str:
        """Commit one submission; see :meth:`add_all`."""
        return self.add_all([(key, body)], kind)[0]

    def add_all(self, items: list[tuple[str, dict[str, Any]]], kind: str = "dossier") -> list[str]:
        """Commit submissions of one ``kind`` together (durably) and return their local references, in order.

        All or none: a linked bundle never half-enters the outbox. A key seen before keeps its first reference.

        :raises StorageFull: the disk refused the write; nothing was stored, so no receipt may be printed.
        """
        if kind not in SENDERS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        now = self._clock()
        refs: list[str] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for key, body in items:
                    row = self._conn.execute("SELECT local_ref FROM outbox WHERE key = ?", [key]).fetchone()
                    if row:
                        refs.append(row[0])
                        continue
                    cursor = self._conn.execute(
                        "INSERT INTO outbox (key, local_ref, body, created_at, kind) VALUES (?, '', ?, ?, ?)",
                        [key, json.dumps(body, ensure_ascii=False), now.isoformat(), kind])
                    ref = f"KS.{self._kiosk}-{now:%y%m%d}-{cursor.lastrowid:04d}"
                    self._conn.execute("UPDATE outbox SET local_ref = ? WHERE seq = ?", [ref, cursor.lastrowid])
                    refs.append(ref)
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                    self._conn.execute("ROLLBACK")
                raise storage_full(exc, "outbox") or exc  # noqa: B904 — the original error, or its disk-full reading
        self._wake.set()
        return refs

    def _exec(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """One statement under the lock, so it never lands inside another thread's open transaction."""
        with self._lock:
            return self._conn.execute(sql, params or []).fetchall()

    def items(self, state: str | None = None) -> list[dict[str, Any]]:
        return self._items_where("state = ?", [state]) if state else self._items_where("1", [])

    def _items_where(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        names = ["seq", "key", "kind", "local_ref", "state", "created_at", "attempts", "code", "error",
                 "delivered_at", "failures", "first_failed_at", "dead_at"]
        rows = self._exec(f"SELECT {', '.join(names)} FROM outbox WHERE {where} ORDER BY seq", params)
        return [dict(zip(names, row)) for row in rows]

    def find(self, ref: str) -> dict[str, Any] | None:
        """The item a receipt's local reference (or idempotency key) names: its state and, once sent, its code."""
        found = self._items_where("local_ref = ? OR key = ?", [canonical_code(ref), ref])
        return found[0] if found else None

    def deliver_once(self, client: BackendClient) -> int:
        """One delivery pass: pending items that never failed, in order, then those the backend failed on; ends
        when the backend is away or fails three in a row. Returns how many were delivered."""
        delivered, failed_in_a_row = 0, 0
        for (seq,) in self._exec("SELECT seq FROM outbox WHERE state = 'pending' ORDER BY failures > 0, seq"):
            rows = self._exec("SELECT key, kind, body FROM outbox WHERE seq = ? AND state = 'pending'", [seq])
            if not rows:  # a technician's command changed it meanwhile
                continue
            key, kind, body = rows[0]
            try:
                code = SENDERS[kind](client, key, json.loads(body))
            except BackendFailed as exc:
                self._failed(seq, exc.status)
                failed_in_a_row += 1
                if failed_in_a_row >= FAILURES_IN_A_ROW:
                    break
                continue
            except BackendUnavailable as exc:
                self._exec("UPDATE outbox SET attempts = attempts + 1, error = ? WHERE seq = ?", [str(exc)[:300], seq])
                break
            except BackendRejected as exc:
                if exc.status in TRANSIENT_STATUSES:
                    self._exec("UPDATE outbox SET attempts = attempts + 1, error = ? WHERE seq = ?",
                               [f"{exc.status} {exc.code}"[:300], seq])
                    break
                log.warning("outbox item %s rejected: %s", seq, exc.code)
                self._exec("UPDATE outbox SET state = 'dead', error = ?, attempts = attempts + 1, dead_at = ?"
                           " WHERE seq = ?", [f"{exc.status} {exc.code}: {exc.message}"[:300], self._now(), seq])
                continue
            failed_in_a_row = 0
            self._exec("UPDATE outbox SET state = 'delivered', code = ?, body = ?, error = NULL, delivered_at = ?,"
                       " attempts = attempts + 1 WHERE seq = ?", [code, PURGED_FORM, self._now(), seq])
            delivered += 1
        if delivered:  # move the purged pages out of the WAL so no old copy of a form stays on disk
            self._exec("PRAGMA wal_checkpoint(TRUNCATE)")
        return delivered

    def _now(self) -> str:
        return self._clock().isoformat()

    def _failed(self, seq: int, status: int) -> None:
        """Count a 5xx for the item; dead-letter it once it has failed often enough for long enough."""
        now = self._clock()
        with self._lock:
            self._conn.execute("UPDATE outbox SET attempts = attempts + 1, failures = failures + 1, error = ?,"
                               " first_failed_at = coalesce(first_failed_at, ?) WHERE seq = ?",
                               [f"{status} backend failed", now.isoformat(), seq])
            failures, first = self._conn.execute("SELECT failures, first_failed_at FROM outbox WHERE seq = ?",
                                                 [seq]).fetchone()
            if failures < self._poison_failures or now - dt.datetime.fromisoformat(first) < self._poison_after:
                return
            self._conn.execute("UPDATE outbox SET state = 'dead', dead_at = ?, error = ? WHERE seq = ?",
                               [now.isoformat(), f"{status} backend failed {failures} times since {first}", seq])
        log.warning("outbox item %s dead-lettered: the backend failed on it %d times since %s", seq, failures, first)

    def run_sender(self, client: Callable[[], BackendClient | None],
                   on_delivered: Callable[[int], None] = lambda _n: None) -> threading.Thread:
        """Background delivery with exponential backoff (1 s … 5 min) while the backend is away."""
        def loop() -> None:
            backoff = 1.0
            while not self._stop.is_set():
                pending = True
                try:
                    current = client()
                    pending = bool(self.items("pending"))
                    if current is not None and pending:
                        sent = self.deliver_once(current)
                        if sent:
                            on_delivered(sent)
                        backoff = 1.0 if not self.items("pending") else min(backoff * 2, MAX_BACKOFF_S)
                except Exception as exc:  # noqa: BLE001 — a full disk or a bad answer must not end delivery for good
                    log.warning("outbox sender: %s", storage_full(exc, "outbox") or type(exc).__name__)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                self._wake.wait(backoff if pending else 30.0)
                self._wake.clear()

        thread = threading.Thread(target=loop, name="outbox-sender", daemon=True)
        thread.start()
        return thread

    def retry_dead(self) -> int:
        """Queue the dead items again (those whose form is still kept), as if they had never failed."""
        with self._lock:
            count = self._conn.execute(
                "UPDATE outbox SET state = 'pending', error = NULL, failures = 0, first_failed_at = NULL,"
                " dead_at = NULL WHERE state = 'dead' AND body <> ?", [PURGED_FORM]).rowcount
        self._wake.set()
        return count

    def purge_delivered(self, older_than_days: int = 30, *, kind: str | None = None,
                        now: dt.datetime | None = None) -> int:
        """Delete the items (of ``kind``, or all) delivered more than ``older_than_days`` before ``now`` (default:
        the outbox's clock); pending and dead items are never deleted here. Returns how many went."""
        cutoff = ((now or self._clock()) - dt.timedelta(days=older_than_days)).isoformat()
        with self._lock:
            return self._conn.execute("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?"
                                      " AND kind = coalesce(?, kind)", [cutoff, kind]).rowcount

    def purge_dead(self, older_than_days: int = 30, *, now: dt.datetime | None = None) -> int:
        """Delete the forms of items dead for longer than ``older_than_days``; their reference, error and dates
        stay for a technician. Returns how many forms went."""
        cutoff = ((now or self._clock()) - dt.timedelta(days=older_than_days)).isoformat()
        with self._lock:
            count = self._conn.execute(
                "UPDATE outbox SET body = ?, error = substr(coalesce(error, 'dead'), 1, 250) || ' (form deleted)'"
                " WHERE state = 'dead' AND body <> ? AND coalesce(dead_at, created_at) < ?",
                [PURGED_FORM, PURGED_FORM, cutoff]).rowcount
            if count:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def close(self) -> None:
        self.stop()
        self._conn.close()


def open_outbox(config: KioskConfig) -> Outbox:
    return Outbox(config.data_dir / "outbox.db", config.kiosk.id, poison_failures=config.outbox.poison_failures,
                  poison_after=dt.timedelta(hours=config.outbox.poison_hours))
