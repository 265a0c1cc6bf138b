"""The kiosk's queue in branch mode: the centre's queue server over HTTP, with numbers leased for offline use.

``BranchQueue`` offers what the kiosk uses from the embedded ``QueueEngine`` (``services_overview``, ``issue``,
``waiting``, ``estimate_wait_s``, ``report``) and returns the same objects and raises the same ``QueueError``
subclasses (``queueing.server.wire``), so the screens and the CLI do not know which queue they talk to.

Offline fallback (docs/branch-queue.md tells the whole story): while the server answers, a background sync leases
a block of numbers per open service (``POST /api/blocks``) and keeps at least ``low_water`` of them. When the server
cannot be reached (connection refused, timeout, 5xx), ``issue`` hands out the next leased number instead. Leased
numbers are taken out of the server's sequence, so they can never collide with numbers of the server or of another
kiosk. The ticket is committed to a local SQLite file (``synchronous=FULL``: a power cut must not give the same
leased number twice) before it is returned, and the sync reports it (``POST /api/offline-tickets``) once the server
is back; the server puts it in line by its issue time. Leases, offline tickets and the last service list survive
a kiosk restart.

::

    QueueError (queueing.errors)
    ├── … every refusal of the server, as the engine raised it (ServiceClosed, DailyCapReached, …)
    ├── BranchUnavailable   the server is unreachable and no leased number can be used
    └── CheckInRefused      a phone number's check-in was refused (``reason``: the server's code)
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlite_utils

from config.localtime import LOCAL_TZ
from config.services import ServiceDef
from contracts.migrations import Migrations
from kiosk import tls
from queueing.db import immediate
from queueing.errors import (
    DailyCapReached,
    KioskRefused,
    QueueError,
    ServiceClosed,
    UnknownPriority,
    UnknownService,
)
from queueing.estimate import DEFAULT_SERVICE_S
from queueing.models import NumberBlock, ServiceOverview, Ticket
from queueing.priority import PRIORITY_CODES
from queueing.server.wire import (
    OFFLINE_PREFIX,
    block_from_json,
    overview_from_json,
    refusal_from_json,
    ticket_from_json,
)

log = logging.getLogger(__name__)

BLOCK_SIZE = 10          # numbers per lease: enough for a typical outage, few enough that unused ones leave small gaps
LOW_WATER = 3            # lease another block when fewer numbers than this are left
SYNC_INTERVAL_S = 5.0
# After a failure, taps issue from the lease at once instead of waiting for a timeout again. Longer than the sync
# interval, so while the server stays away the background sync renews it and no citizen waits on the network;
# the first successful sync ends it.
RETRY_AFTER_S = 2 * SYNC_INTERVAL_S
KEEP_DAYS = 7            # reported offline tickets and old leases are kept this long for support, then purged
SAVE_SERVICES_S = 60.0   # the kept service list (for offline use) is rewritten at most this often unless it changed:
                         # waiting counts a minute old are fine offline, and the file is fsynced on every commit

schema = Migrations()


@schema("0001_leases_and_offline_tickets")
def _tables(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE leases (
            id TEXT PRIMARY KEY, service TEXT NOT NULL, day TEXT NOT NULL, first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL, next_seq INTEGER NOT NULL, holder TEXT NOT NULL, prefix TEXT NOT NULL,
            digits INTEGER NOT NULL)""")
    db.execute("""
        CREATE TABLE offline_tickets (
            request_id TEXT PRIMARY KEY, block_id TEXT NOT NULL, service TEXT NOT NULL, day TEXT NOT NULL,
            seq INTEGER NOT NULL, number TEXT NOT NULL, priority TEXT, booking_code TEXT, kiosk_id TEXT,
            issued_at TEXT NOT NULL, people_ahead INTEGER NOT NULL, estimated_wait_s INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',   -- pending, reported or rejected
            server_ticket_id TEXT, note TEXT,
            UNIQUE (block_id, seq))""")
    db.execute("CREATE TABLE services_cache (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL, "
               "fetched_at TEXT NOT NULL)")


class BranchUnavailable(QueueError):
    pass


class CheckInRefused(QueueError):
    """The server refused a phone number's check-in. ``reason`` is its code (contracts E): ``unknown_code``,
    ``already_checked_in``, ``not_waiting``, ``expired``, or another refusal's code (``kiosk_refused`` …)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _Unreachable(Exception):
    """Network error, timeout or 5xx: the caller falls back to the lease or tries again later."""


class OfflineStore:
    """The kiosk's own SQLite file: leased blocks, tickets issued from them, and the last service list."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        schema.apply(sqlite_utils.Database(self._conn))
        self._lock = threading.Lock()

    def save_services(self, services: list[dict[str, Any]], at: datetime) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO services_cache (id, body, fetched_at) VALUES (1, ?, ?)",
                               [json.dumps(services, ensure_ascii=False), at.isoformat()])

    def services(self) -> list[dict[str, Any]]:
        with self._lock:
            row = self._conn.execute("SELECT body FROM services_cache WHERE id = 1").fetchone()
        return json.loads(row["body"]) if row else []

    def add_lease(self, block: NumberBlock) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO leases (id, service, day, first_seq, last_seq, next_seq, holder, prefix, digits)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [block.id, block.service, block.day.isoformat(), block.first_seq, block.last_seq, block.first_seq,
                 block.holder, block.prefix, block.digits])

    def remaining(self, service: str, day: date) -> int:
        with self._lock:
            return self._conn.execute(
                "SELECT COALESCE(SUM(last_seq - next_seq + 1), 0) FROM leases WHERE service = ? AND day = ? "
                "AND next_seq <= last_seq", [service, day.isoformat()]).fetchone()[0]

    def offline_ticket(self, request_id: str) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute("SELECT * FROM offline_tickets WHERE request_id = ?", [request_id]).fetchone()

    def take(self, service: str, day: date, ticket: dict[str, Any],
             estimate: Callable[[int], tuple[int, int]]) -> sqlite3.Row | None:
        """Hand out the next leased number of ``service`` on ``day`` and record the ticket, in one transaction;
        None when no lease has a number left. ``estimate(offline_ahead)`` gives (people ahead, wait seconds)."""
        with self._lock, immediate(self._conn) as conn:
            lease = conn.execute("SELECT * FROM leases WHERE service = ? AND day = ? AND next_seq <= last_seq "
                                 "ORDER BY first_seq LIMIT 1", [service, day.isoformat()]).fetchone()
            if lease is None:
                return None
            seq = lease["next_seq"]
            block = NumberBlock(lease["id"], service, day, lease["first_seq"], lease["last_seq"], lease["holder"],
                                lease["prefix"], lease["digits"])
            offline_ahead = conn.execute("SELECT COUNT(*) FROM offline_tickets WHERE service = ? AND day = ? "
                                         "AND status = 'pending'", [service, day.isoformat()]).fetchone()[0]
            ahead, wait = estimate(offline_ahead)
            conn.execute("UPDATE leases SET next_seq = ? WHERE id = ?", [seq + 1, block.id])
            conn.execute(
                "INSERT INTO offline_tickets (request_id, block_id, service, day, seq, number, priority, booking_code,"
                " kiosk_id, issued_at, people_ahead, estimated_wait_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [ticket["request_id"], block.id, service, day.isoformat(), seq, block.number(seq), ticket["priority"],
                 ticket["booking_code"], ticket["kiosk_id"], ticket["issued_at"].isoformat(), ahead, wait])
            return conn.execute("SELECT * FROM offline_tickets WHERE request_id = ?",
                                [ticket["request_id"]]).fetchone()

    def pending(self) -> list[sqlite3.Row]:
        """Offline tickets not yet reported, oldest first."""
        with self._lock:
            return self._conn.execute("SELECT * FROM offline_tickets WHERE status = 'pending' "
                                      "ORDER BY issued_at, rowid").fetchall()

    def pending_count(self, service: str, day: date) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM offline_tickets WHERE service = ? AND day = ? AND "
                                      "status = 'pending'", [service, day.isoformat()]).fetchone()[0]

    def settle(self, request_id: str, status: str, *, server_ticket_id: str | None = None,
               note: str | None = None) -> None:
        with self._lock:
            self._conn.execute("UPDATE offline_tickets SET status = ?, server_ticket_id = ?, note = ? "
                               "WHERE request_id = ?", [status, server_ticket_id, note, request_id])

    def purge(self, before: date) -> None:
        """Forget settled tickets and leases of days before ``before``; pending tickets stay until reported."""
        with self._lock, immediate(self._conn) as conn:
            conn.execute("DELETE FROM offline_tickets WHERE day < ? AND status != 'pending'", [before.isoformat()])
            conn.execute("DELETE FROM leases WHERE day < ? AND id NOT IN (SELECT block_id FROM offline_tickets)",
                         [before.isoformat()])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _offline_ticket(row: sqlite3.Row) -> Ticket:
    priority = row["priority"] or ("booking" if row["booking_code"] else None)
    return Ticket(id=OFFLINE_PREFIX + row["request_id"], number=row["number"], service=row["service"],
                  priority=priority, issued_at=datetime.fromisoformat(row["issued_at"]), state="waiting",
                  counter=None, people_ahead=row["people_ahead"], estimated_wait_s=row["estimated_wait_s"],
                  kiosk_id=row["kiosk_id"])


class BranchQueue:
    def __init__(self, server_url: str, *, kiosk_id: str, token: str, state_path: Path, block_size: int = BLOCK_SIZE,
                 low_water: int = LOW_WATER, timeout_s: float = 2.0, retry_after_s: float = RETRY_AFTER_S,
                 sync_interval_s: float | None = SYNC_INTERVAL_S, transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(LOCAL_TZ)) -> None:
        """:param token: this kiosk's ``<kiosk id>:<secret>``, sent as a bearer token on every request (the server
            refuses tickets and leases without it, and counts its syncs as signs of life).
        :param state_path: the kiosk's SQLite file for leases and offline tickets.
        :param sync_interval_s: how often the background thread syncs with the server; None runs no thread
            (call :meth:`sync` yourself)."""
        self.kiosk_id = kiosk_id
        self._http = tls.client(base_url=server_url, transport=transport,
                                  headers={"Authorization": f"Bearer {token}"} if token else None,
                                  timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 1.0)))
        self._store = OfflineStore(state_path)
        self._block_size = block_size
        self._low_water = low_water
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._offline_until = 0.0
        self._saved_services: tuple[list[dict[str, Any]], float] = ([], -SAVE_SERVICES_S)
        self._purged_on: date | None = None
        self._sync_lock = threading.Lock()
        self.online: bool | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if sync_interval_s is not None:
            self._thread = threading.Thread(target=self._run, args=(sync_interval_s,), name="branch-queue-sync",
                                            daemon=True)
            self._thread.start()

    # -- what the kiosk calls -----------------------------------------------------------------------------------
    def services_overview(self) -> list[ServiceOverview]:
        """Live from the server; offline from the last list with this kiosk's unreported tickets added (empty
        when the kiosk never reached the server)."""
        try:
            return [overview_from_json(s) for s in self._fetch_services()]
        except _Unreachable:
            now = self._now()
            overview = []
            for entry in self._store.services():
                service = ServiceDef.model_validate(entry["definition"])
                open_now = service.is_open(now)
                overview.append(ServiceOverview(
                    service.code, service.name_vi, service.name_en,
                    entry["waiting"] + self._store.pending_count(service.code, now.date()), open_now,
                    None if open_now else service.next_opening(now)))
            return overview

    def issue(self, service_code: str, *, request_id: str, priority: str | None = None,
              kiosk_id: str | None = None, booking_code: str | None = None) -> Ticket:
        """A ticket from the server, or from this kiosk's lease when the server cannot be reached.

        A repeated ``request_id`` returns the same ticket, online (the server) or offline (the local file).

        :raises UnknownService, UnknownPriority, ServiceClosed, DailyCapReached: as the engine.
        :raises BranchUnavailable: offline, and no leased number of ``service_code`` for today is left.
        """
        earlier = self._store.offline_ticket(request_id)
        if earlier is not None:
            return _offline_ticket(earlier)
        body = {"service": service_code, "request_id": request_id, "priority": priority,
                "booking_code": booking_code}  # the server records the kiosk its token names
        try:
            return ticket_from_json(self._call("POST", "/api/tickets", json=body))
        except _Unreachable:
            return self._issue_offline(service_code, request_id, priority, kiosk_id or self.kiosk_id, booking_code)

    def waiting(self, service_code: str) -> list[Ticket]:
        """:raises BranchUnavailable: (online only)"""
        data = self._online("GET", f"/api/services/{service_code}/waiting")
        return [ticket_from_json(t) for t in data["tickets"]]

    def estimate_wait_s(self, service_code: str, people_ahead: int) -> int:
        """:raises BranchUnavailable: (online only)"""
        data = self._online("GET", f"/api/services/{service_code}/estimate", params={"ahead": people_ahead})
        return int(data["estimated_wait_s"])

    def report(self, day: date, token: str) -> dict[str, Any]:
        """The day's figures, read with a report token (the server's ``QUEUE_REPORT_TOKEN``; a kiosk's own token
        does not read them). :raises BranchUnavailable: (online only) :raises QueueError: the token is refused."""
        return self._online("GET", "/api/report", params={"day": day.isoformat()},
                            headers={"Authorization": f"Bearer {token}"})

    def check_in(self, code: str) -> dict[str, Any]:
        """Check a phone number in by the code of its check-in QR (``POST /api/checkin``, this kiosk's token).

        Never falls back to anything offline: a number not checked in on the server would be skipped when called.
        Returns the server's answer (``number``, ``service``, ``state``, ``people_ahead``, ``estimate_min``).

        :raises CheckInRefused: the server said no (unknown, already checked in, expired …).
        :raises BranchUnavailable: the server cannot be reached.
        """
        try:
            status, data = self._exchange("POST", "/api/checkin", force=True, json={"code": code})
        except _Unreachable as exc:
            raise BranchUnavailable(str(exc)) from exc
        body = data if isinstance(data, dict) else {}
        if status >= 400:
            raise CheckInRefused(str(body.get("code") or status), str(body.get("error") or "check-in refused"))
        return body

    # -- keeping in step with the server ------------------------------------------------------------------------
    def sync(self) -> bool:
        """Refresh the service list, report offline tickets, top up leases; False when the server is unreachable."""
        with self._sync_lock:
            try:
                services = self._fetch_services(force=True)
                self._report_pending()
                self._top_up(services)
            except _Unreachable:
                return False
            today = self._now().date()
            if self._purged_on != today:
                self._store.purge(today - timedelta(days=KEEP_DAYS))
                self._purged_on = today
            return True

    def pending_reports(self) -> int:
        """Offline tickets not yet accepted by the server."""
        return len(self._store.pending())

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._http.close()
        self._store.close()

    def _run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:  # noqa: BLE001 — the sync thread must outlive any surprise; the next round retries
                log.exception("branch queue sync failed")
            self._stop.wait(interval_s)

    def _fetch_services(self, *, force: bool = False) -> list[dict[str, Any]]:
        services = self._call("GET", "/api/services", force=force)["services"]
        definitions = [entry["definition"] for entry in services]
        saved, saved_at = self._saved_services
        if definitions != saved or time.monotonic() - saved_at >= SAVE_SERVICES_S:
            self._store.save_services(services, self._now())
            self._saved_services = (definitions, time.monotonic())
        return services

    def _report_pending(self) -> None:
        for row in self._store.pending():
            body = {"block_id": row["block_id"], "service": row["service"], "seq": row["seq"],
                    "request_id": OFFLINE_PREFIX + row["request_id"], "issued_at": row["issued_at"],
                    "priority": row["priority"], "booking_code": row["booking_code"]}
            try:
                ticket = ticket_from_json(self._call("POST", "/api/offline-tickets", json=body, force=True))
            except KioskRefused as exc:  # this kiosk's token is wrong: keep the tickets until it is fixed
                log.warning("queue server refused this kiosk's token; offline tickets stay pending: %s", exc)
                return
            except QueueError as exc:
                # the server will never take it (e.g. its database was replaced): stop retrying, keep it on record
                self._store.settle(row["request_id"], "rejected", note=str(exc))
                log.warning("offline ticket %s refused by the queue server: %s", row["number"], exc)
                continue
            self._store.settle(row["request_id"], "reported", server_ticket_id=ticket.id)
            if ticket.number != row["number"]:
                log.error("offline ticket %s was recorded as %s by the queue server", row["number"], ticket.number)

    def _top_up(self, services: list[dict[str, Any]]) -> None:
        today = self._now().date()
        for entry in services:
            code = entry["code"]
            if not entry["open_now"] or self._store.remaining(code, today) >= self._low_water:
                continue
            try:
                block = block_from_json(self._call("POST", "/api/blocks", force=True, json={
                    "service": code, "size": self._block_size}))
            except DailyCapReached:
                continue
            except KioskRefused as exc:
                log.warning("queue server refused this kiosk's token; no numbers leased for offline use: %s", exc)
                return
            self._store.add_lease(block)

    # -- offline issuing ----------------------------------------------------------------------------------------
    def _issue_offline(self, service_code: str, request_id: str, priority: str | None, kiosk_id: str,
                       booking_code: str | None) -> Ticket:
        cached = {entry["code"]: entry for entry in self._store.services()}
        if not cached:
            raise BranchUnavailable("the queue server is unreachable and this kiosk has no service list yet")
        if service_code not in cached:
            raise UnknownService(f"unknown service {service_code!r}; known: {', '.join(cached)}")
        if priority is not None and priority not in PRIORITY_CODES:
            raise UnknownPriority(f"unknown priority {priority!r}; known: {', '.join(PRIORITY_CODES)}")
        entry = cached[service_code]
        service = ServiceDef.model_validate(entry["definition"])
        now = self._now()
        if not service.is_open(now):
            raise ServiceClosed(service.code, service.next_opening(now))
        per_person = entry["estimated_wait_s"] / entry["waiting"] if entry["waiting"] else \
            DEFAULT_SERVICE_S / max(1, len(service.counters))

        def estimate(offline_ahead: int) -> tuple[int, int]:
            ahead = entry["waiting"] + offline_ahead
            return ahead, round(ahead * per_person)

        row = self._store.take(service_code, now.date(), {
            "request_id": request_id, "priority": priority, "booking_code": booking_code, "kiosk_id": kiosk_id,
            "issued_at": now}, estimate)
        if row is None:
            raise BranchUnavailable(f"the queue server is unreachable and this kiosk has no leased numbers of "
                                    f"{service_code} left for today")
        log.info("queue server unreachable: issued %s from this kiosk's lease", row["number"])
        return _offline_ticket(row)

    # -- HTTP ---------------------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, force: bool = False, **kwargs: Any) -> Any:
        """The response JSON; ``force`` tries even within ``retry_after_s`` of the last failure.

        :raises _Unreachable: network error, timeout or 5xx.
        :raises QueueError: the server refused (4xx), as the matching engine exception.
        """
        status, data = self._exchange(method, path, force=force, **kwargs)
        if status >= 400:
            raise refusal_from_json(data if isinstance(data, dict) else {})
        return data

    def _exchange(self, method: str, path: str, *, force: bool, **kwargs: Any) -> tuple[int, Any]:
        """The response status and JSON, whatever the status below 500.

        :raises _Unreachable: network error, timeout or 5xx (or within ``retry_after_s`` of one, unless ``force``).
        :raises QueueError: an answer without JSON.
        """
        if not force and time.monotonic() < self._offline_until:
            raise _Unreachable("the queue server failed moments ago")
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._went_offline(f"{type(exc).__name__}: queue server unreachable") from exc
        if response.status_code >= 500:
            raise self._went_offline(f"queue server answered {response.status_code}: {response.text[:120]}")
        self.online, self._offline_until = True, 0.0
        try:
            return response.status_code, response.json()
        except ValueError:
            raise QueueError(f"queue server answered {response.status_code} without JSON") from None

    def _online(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self._call(method, path, **kwargs)
        except _Unreachable as exc:
            raise BranchUnavailable(str(exc)) from exc

    def _went_offline(self, reason: str) -> _Unreachable:
        """The error to raise; the reason is logged once per outage, so an operator sees why taps use the lease."""
        if self.online is not False:
            log.warning("kiosk %s: %s; issuing from the lease until it answers", self.kiosk_id, reason)
        self.online = False
        self._offline_until = time.monotonic() + self._retry_after_s
        return _Unreachable(reason)

    def _now(self) -> datetime:
        return self._clock().astimezone(LOCAL_TZ)
