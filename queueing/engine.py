"""The queue engine: issue numbers, call them at counters, and answer "how many people are ahead of me?".

Numbers are dense per service per local day (Asia/Ho_Chi_Minh) and restart at local midnight (``numbering``).
Issuing is one write transaction that is idempotent per request id and committed, and on the disk (``queueing.db``:
group commit on SQLite), before ``issue`` returns, so a double tap or a retried request returns the same ticket,
even from another process, and a power cut cannot take back a printed number. Ticket states::

    waiting ─→ called ─→ serving ─→ done
       │        │ ↺ recall  └───────→ transferred
       │        ├─→ done
       │        ├─→ no_show  (skip)
       │        └─→ transferred
       └─→ transferred       (a new waiting ticket in the target service keeps the original place in line)

A number taken from a phone (``virtual``) starts as ``virtual`` — numbered like the others, placed in the line by
its issue time, but not called — and becomes ``waiting`` at its place when its holder checks in (``check_in``); a
call that goes past it stamps ``passed_over_at``, and upkeep (``skip_unchecked``) makes it ``no_show`` once its grace
is over; ``requeue_virtual`` puts it back once, at the end; ``cancel_virtual`` makes it ``cancelled``.

A transferred citizen keeps their number and their place: the new service's line is ordered by ``queue_at``, the
original issue time. Waiting tickets of an earlier day are not called (the line is per day).

For the branch server: ``reserve_block`` leases numbers to a kiosk for offline use and ``record_offline`` puts the
tickets the kiosk issued from it into the line by their issue time. One engine may be shared by threads, and
processes share the database:

* on SQLite each method holds the file's one connection (``contracts.sqldb``), so threads take turns, and writes
  are ``BEGIN IMMEDIATE`` on the whole file;
* on PostgreSQL each call borrows a pooled connection and nothing is held in the process: a new number is taken
  under the service's lock (``numbers:<service>``), so numbers stay dense and unique per service and day and a
  rolled-back issue leaves no gap; every change of an existing ticket (call, recall, start, finish, skip,
  transfer) runs under one ``queue`` lock, so two counters on two processes never call the same ticket; a request
  id sent to two processes at the same moment (even for two services) makes one ticket: the loser's insert meets
  the unique ``request_id`` (``ON CONFLICT … DO NOTHING`` waits for the winner to commit), its transaction and the
  number it took roll back, and it answers with the winner's ticket.

Round trips (each statement is one on PostgreSQL): an issue is its transaction (begin, the lock, the number in
one ``UPDATE … RETURNING``, the ticket in one ``INSERT … RETURNING``, commit): the people ahead are read in the
statement that takes the number (``estimate.at_the_back``), the wait estimate's inputs are kept for a second
(``estimate.WaitInputs``), and the idempotency check costs nothing when the request id is new: the insert tells.

Time comes from an injected clock returning aware datetimes, so tests move it across midnight without sleeping.
After an NTP step back of up to ``MAX_CLOCK_HOLD`` the engine's time stands still until the clock catches up, so a
later ticket never goes ahead of earlier ones in the line, nor onto the previous day.
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from config.localtime import LOCAL_TZ
from config.services import ServiceDef
from contracts.sqldb import Connection, Cursor, StoreBusy
from queueing import estimate, numbering, virtual
from queueing.checkpoint import DEFAULT_INTERVAL_S, Checkpointer
from queueing.db import Synchronous, WalSync, connect
from queueing.errors import (
    AlreadyCheckedIn,
    CheckInExpired,
    CounterBusy,
    DailyCapReached,
    InvalidTransition,
    NotCheckable,
    NotToday,
    NotYourBlock,
    NumberNotLeased,
    QueueBusy,
    ServiceClosed,
    UnknownCheckIn,
    UnknownPriority,
    UnknownService,
    UnknownTicket,
)
from queueing.models import (
    CounterStatus,
    NumberBlock,
    PhoneTicket,
    QueueStatus,
    ServiceOverview,
    ServiceStatus,
    Ticket,
)
from queueing.priority import PRIORITY_CODES, choose_priority
from queueing.report import summarize

ACTIVE_STATES = ("called", "serving")
QUEUE_LOCK = "queue"  # PostgreSQL: every change of an existing ticket runs under it, across processes
CLOCK_SKEW = timedelta(minutes=5)  # a kiosk's clock may be this far off the server's (NTP on both)
MAX_CLOCK_HOLD = timedelta(hours=2)  # a clock further ahead than this was wrong: follow the correction
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _serialized(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """The method runs on the connection ``Database.connection`` lends this thread: on SQLite the file's one
    connection under its lock (one sqlite3 connection must not interleave transactions from two threads), on
    PostgreSQL a pooled one. A method that committed on SQLite returns only once its commit is on the disk, waiting
    outside the lock so that other threads commit meanwhile and share the next fsync (``queueing.db.WalSync``)."""
    @functools.wraps(method)
    def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        engine: QueueEngine = args[0]  # type: ignore[assignment]
        sync = engine._sync
        with engine.db.connection() as conn:
            outer = getattr(engine._local, "conn", None)
            engine._local.conn = conn
            try:
                before = sync.commits if sync else 0
                result = method(*args, **kwargs)
                commit = sync.commits if sync else 0
            finally:
                engine._local.conn = outer
        if sync is not None and commit != before:
            sync.wait(commit)
        return result
    return locked


class _RequestTaken(Exception):
    """The request id being issued already has a ticket: roll back the number taken for it."""


def _as_dicts(cursor: Cursor) -> list[dict[str, Any]]:
    """Every row left in ``cursor`` by column name (fetched to the end: SQLite then ends an ``INSERT … RETURNING``)."""
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _as_dict(cursor: Cursor) -> dict[str, Any] | None:
    rows = _as_dicts(cursor)
    return rows[0] if rows else None


def _stamp(moment: datetime) -> str:
    # one fixed format (local offset, microseconds) so ISO strings sort in time order inside SQL
    return moment.astimezone(LOCAL_TZ).isoformat(timespec="microseconds")


class QueueEngine:
    def __init__(self, target: Path | str, services: Iterable[ServiceDef], *, max_priority_in_row: int = 3,
                 clock: Callable[[], datetime] = lambda: datetime.now(LOCAL_TZ),
                 synchronous: Synchronous = "GROUP", checkpoint_interval_s: float | None = DEFAULT_INTERVAL_S) -> None:
        """:param target: a SQLite file or a ``postgresql://`` URL (``queueing.db.connect``).
        :param synchronous: SQLite only — ``GROUP`` (default): every write is on the disk before it returns, one
            fsync shared by concurrent writers; ``FULL``: the same with one fsync per commit; ``NORMAL``: may lose
            the last commits in a power cut (see ``queueing.db``).
        :param checkpoint_interval_s: SQLite only — WAL checkpoints on a background thread at this interval (see
            ``checkpoint``); None leaves them to SQLite, inside whichever commit crosses 1,000 WAL pages.
        :raises contracts.sqldb.DatabaseTargetError: a target that cannot be used."""
        if max_priority_in_row < 1:
            raise ValueError("max_priority_in_row must be at least 1")
        self.db = connect(target, synchronous)
        sqlite = self.db.dialect == "sqlite"
        self._sync = WalSync(target) if sqlite and synchronous == "GROUP" else None
        self._local = threading.local()  # the connection the current method runs on (``_serialized``)
        self._checkpointer: Checkpointer | None = None
        if sqlite and checkpoint_interval_s is not None:
            with self.db.connection() as conn:
                conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpointer = Checkpointer(target, checkpoint_interval_s)
        self.services = {service.code: service for service in services}
        self.max_priority_in_row = max_priority_in_row
        self._clock = clock
        self._latest: datetime | None = None
        self._clock_lock = threading.Lock()
        self._on_close: list[Callable[[], None]] = []
        self._inputs = estimate.WaitInputs()
        self._places = virtual.Places()

    def when_closed(self, stop: Callable[[], None]) -> None:
        """Call ``stop`` when the engine closes, before its database (e.g. a server's listener thread)."""
        self._on_close.append(stop)

    @property
    def _conn(self) -> Connection:
        return self._local.conn

    # -- issuing ------------------------------------------------------------------------------------------------
    @_serialized
    def issue(self, service_code: str, *, request_id: str, priority: str | None = None,
              kiosk_id: str | None = None, booking_code: str | None = None) -> Ticket:
        """Issue (or return the ticket already issued for) ``request_id``; committed before it returns.

        A booking check-in (``booking_code`` given) is a ``booking`` priority ticket unless another priority is
        named. A repeated ``request_id`` returns the first ticket whatever the other arguments say.

        :raises UnknownService, UnknownPriority, ServiceClosed, DailyCapReached:
        """
        service = self._service(service_code)
        priority = self._priority(priority, booking_code)
        try:
            with self._write(f"numbers:{service.code}") as conn:
                now = self._now()  # under the lock: a later number never has an earlier place in line
                if not service.is_open(now):
                    raise ServiceClosed(service.code, service.next_opening(now))
                day = now.date().isoformat()
                seq, _, line = numbering.take(conn, service, day,
                                              also=estimate.at_the_back(day, service.code, priority, _stamp(now)))
                row = self._insert(service, seq, request_id, priority, kiosk_id, booking_code, now)
        except (_RequestTaken, ServiceClosed, DailyCapReached):
            # a repeated request id (a retry, or the same tap sent to another process at the same moment, under
            # another service's lock) answers with the ticket it has, whatever the hours and cap say now; this
            # transaction, number included, rolled back
            row = self._by_request(request_id)
            if row is None:
                raise
            return self._view(row)
        return self._view(row, estimate.ahead_at_the_back(priority, line))

    @_serialized
    def reserve_block(self, service_code: str, size: int, *, holder: str, day: date | None = None) -> NumberBlock:
        """Lease up to ``size`` of today's numbers to kiosk ``holder`` for offline issuing.

        The block counts towards the daily cap and is cut short when the cap leaves fewer numbers; opening hours do
        not apply (the kiosk checks them when it hands out a number). Only today's numbers are leased: a block for
        another day would burn that day's cap before it starts.

        :raises UnknownService, DailyCapReached:
        :raises NotToday: ``day`` is given and is not today.
        """
        service = self._service(service_code)
        now = self._now()
        if day is not None and day != now.date():
            raise NotToday(f"numbers are leased for today ({now.date()}) only, not for {day}")
        with self._write(f"numbers:{service.code}") as conn:
            return numbering.lease(conn, service, now.date(), size, holder, now)

    @_serialized
    def record_offline(self, block_id: str, service_code: str, seq: int, *, request_id: str, issued_at: datetime,
                       priority: str | None = None, booking_code: str | None = None, kiosk: str | None = None,
                       late: bool = False) -> Ticket:
        """Take in a ticket a kiosk issued from a leased block while offline; it joins the line by ``issued_at``.

        Idempotent per ``request_id`` like ``issue``: a kiosk may report the same ticket again after a lost reply.
        The ticket is accepted whatever the hours and cap say now: the citizen already holds the paper. It must
        fall inside its lease: today, not before the block was leased nor after now (``CLOCK_SKEW`` allowed either
        way), and its place in line is never later than now. ``late`` (the server saw the kiosk online long after
        ``issued_at``, so it would have reported the ticket then) puts it at the end of the line instead: a
        back-dated ticket cannot jump ahead of citizens already waiting.

        :param kiosk: the reporting kiosk, when known; it must be the block's holder.
        :raises UnknownBlock: the queue never leased that block for that service.
        :raises NotYourBlock: ``kiosk`` is not the block's holder.
        :raises NotToday: the block is not today's.
        :raises NumberNotLeased: ``seq`` is outside the block, ``issued_at`` outside the lease's time, or the
            number was already reported with another request id.
        """
        service = self._service(service_code)
        priority = self._priority(priority, booking_code)
        now = self._now()
        try:
            row = self._record_offline(service, block_id, seq, request_id, issued_at, priority, booking_code, kiosk,
                                       late, now)
        except (_RequestTaken, *self.db.integrity_errors):
            # another process took the same request id in at the same moment (its ticket wins), or the number
            # was already reported under another request id
            row = self._by_request(request_id)
            if row is None:
                raise NumberNotLeased(f"{service.format_number(seq)} of {now.date()} was already reported with "
                                      "another request id") from None
        return self._view(row)

    def _record_offline(self, service: ServiceDef, block_id: str, seq: int, request_id: str, issued_at: datetime,
                        priority: str | None, booking_code: str | None, kiosk: str | None, late: bool,
                        now: datetime) -> dict[str, Any]:
        with self._write(f"numbers:{service.code}", moves_line=True) as conn:  # may join mid-line
            row = self._by_request(request_id)
            if row is None:
                block, leased_at = numbering.load_block(conn, block_id, service)
                if kiosk is not None and kiosk != block.holder:
                    raise NotYourBlock(f"block {block_id} is leased to kiosk {block.holder}, not {kiosk}")
                if block.day != now.date():
                    raise NotToday(f"block {block_id} holds numbers of {block.day}; only today's are taken in")
                local = issued_at.astimezone(LOCAL_TZ)
                if not block.first_seq <= seq <= block.last_seq or local.date() != block.day or \
                        not leased_at - CLOCK_SKEW <= local <= now + CLOCK_SKEW:
                    raise NumberNotLeased(f"{service.format_number(seq)} at {local:%d/%m %H:%M} is not in block "
                                          f"{block.first_seq}-{block.last_seq} leased {leased_at:%d/%m %H:%M}")
                row = self._insert(service, seq, request_id, priority, block.holder, booking_code, local,
                                   queue_at=now if late else min(local, now))
        return row

    def _by_request(self, request_id: str) -> dict[str, Any] | None:
        return _as_dict(self._conn.execute("SELECT rowid, * FROM tickets WHERE request_id = ?", [request_id]))

    def _insert(self, service: ServiceDef, seq: int, request_id: str, priority: str | None, kiosk_id: str | None,
                booking_code: str | None, issued_at: datetime, queue_at: datetime | None = None,
                phone: dict[str, str] | None = None) -> dict[str, Any]:
        """The new ticket's row, as inserted (no read back). ``phone`` (phone, checkin_code, view_digest) makes it
        a virtual number (``virtual``).

        :raises _RequestTaken: ``request_id`` has a ticket (maybe committed by another process this moment): the
            caller's transaction rolls back and answers with that one.
        """
        stamp = _stamp(issued_at)
        extra = {"state": "virtual", **phone} if phone else {}
        columns = "".join(f", {name}" for name in extra)
        row = _as_dict(self._conn.execute(
            f"INSERT INTO tickets (id, request_id, day, service, seq, number, priority, kiosk_id, booking_code,"
            f" issued_at, queue_at{columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?{', ?' * len(extra)})"
            " ON CONFLICT (request_id) DO NOTHING RETURNING rowid, *",
            [secrets.token_urlsafe(9), request_id, issued_at.date().isoformat(), service.code, seq,
             service.format_number(seq), priority, kiosk_id, booking_code, stamp,
             _stamp(queue_at) if queue_at else stamp, *extra.values()]))
        if row is None:
            raise _RequestTaken(f"request {request_id!r} already has a ticket")
        return row

    # -- reading ------------------------------------------------------------------------------------------------
    @_serialized
    def ticket(self, ticket_id: str) -> Ticket:
        """:raises UnknownTicket:"""
        return self._ticket(ticket_id)

    @_serialized
    def services_overview(self) -> list[ServiceOverview]:
        now = self._now()
        counts = self._waiting_counts(now.date().isoformat())
        overview = []
        for s in self.services.values():
            open_now = s.is_open(now)
            overview.append(ServiceOverview(s.code, s.name_vi, s.name_en, counts.get(s.code, 0), open_now,
                                            None if open_now else s.next_opening(now)))
        return overview

    @_serialized
    def waiting(self, service_code: str) -> list[Ticket]:
        """Today's waiting tickets of a service in the order they would be called (priority first, then by place)."""
        rows = _as_dicts(self._conn.execute(
            "SELECT rowid, * FROM tickets WHERE day = ? AND service = ? AND state = 'waiting' "
            "ORDER BY priority IS NULL, queue_at, rowid", [self._today(), service_code]))
        # in this order a ticket's place is the number of people ahead of it (``estimate.people_ahead``)
        return [self._view(row, ahead=place) for place, row in enumerate(rows)]

    @_serialized
    def current(self, counter: int) -> Ticket | None:
        """The ticket a counter has called or is serving, if any."""
        row = self._conn.execute("SELECT id FROM tickets WHERE counter = ? AND state IN ('called', 'serving')",
                                 [counter]).fetchone()
        return self._ticket(row[0]) if row else None

    @_serialized
    def status(self) -> QueueStatus:
        """Every service's line and every counter's current ticket, for the counter page and the display board."""
        now = self._now()
        day = now.date().isoformat()
        counts = self._waiting_counts(day)
        services = []
        for code, service in self.services.items():
            head = self._conn.execute(
                "SELECT number FROM tickets WHERE day = ? AND service = ? AND state = 'waiting' "
                "ORDER BY priority IS NULL, queue_at, rowid LIMIT 1", [day, code]).fetchone()
            waiting = counts.get(code, 0)
            services.append(ServiceStatus(code, waiting, head[0] if head else None,
                                          self._inputs.wait_s(self._conn, day, code, waiting, service.counters)))
        counters = [
            CounterStatus(counter, number, service, state, datetime.fromisoformat(called_at))
            for counter, number, service, state, called_at in self._conn.execute(
                "SELECT counter, number, service, state, called_at FROM tickets "
                "WHERE counter IS NOT NULL AND state IN ('called', 'serving') ORDER BY counter").fetchall()
        ]
        return QueueStatus(now, services, counters)

    @_serialized
    def estimate_wait_s(self, service_code: str, people_ahead: int) -> int:
        """Seconds a citizen with ``people_ahead`` people before them can expect to wait (see ``estimate``)."""
        service = self._service(service_code)
        return self._inputs.wait_s(self._conn, self._today(), service.code, people_ahead, service.counters)

    @_serialized
    def report(self, day: date) -> dict[str, Any]:
        """The day's figures per service and per counter (see ``report.summarize``)."""
        return summarize(day, self.rows_for_day(day))

    @_serialized
    def rows_for_day(self, day: date) -> list[dict[str, Any]]:
        return _as_dicts(self._conn.execute("SELECT * FROM tickets WHERE day = ? ORDER BY queue_at, rowid",
                                            [day.isoformat()]))

    @_serialized
    def purge_before(self, day: date) -> int:
        """Delete the tickets, numbering and leased blocks of the days before ``day``; returns the tickets deleted.

        The line is per day, so an earlier day's ticket, whatever its state, is never called again: only the daily
        report reads it. Run by the kiosk's retention (``retention.queue_days``) so its local queue file stays
        bounded over years of service."""
        with self._write(QUEUE_LOCK) as conn:
            cutoff = [day.isoformat()]
            deleted = conn.execute("DELETE FROM tickets WHERE day < ?", cutoff).rowcount
            for table in ("line_counts", "day_sequences", "number_blocks"):
                conn.execute(f"DELETE FROM {table} WHERE day < ?", cutoff)
        return deleted

    # -- counters -----------------------------------------------------------------------------------------------
    @_serialized
    def call_next(self, counter: int, services: Iterable[str] | None = None) -> Ticket | None:
        """Call the next ticket of ``services`` (default: those configured for the counter) under the priority
        policy; None when nobody waits.

        :raises CounterBusy: the counter still has a called or serving ticket.
        :raises UnknownService:
        """
        codes = [self._service(code).code for code in services] if services is not None else [
            s.code for s in self.services.values() if counter in s.counters]
        if not codes:
            return None
        now = self._now()
        with self._write(QUEUE_LOCK) as conn:
            if conn.execute("SELECT 1 FROM tickets WHERE counter = ? AND state IN ('called', 'serving')",
                            [counter]).fetchone():
                raise CounterBusy(f"counter {counter} still has a ticket; finish, skip or transfer it first")

            def head(priority: bool) -> tuple[str, int, str] | None:
                # the first of each service's line, then the earliest of those: one query over several services
                # would sort all of their waiting tickets to find it
                heads = [conn.execute(
                    "SELECT queue_at, rowid, id FROM tickets WHERE day = ? AND service = ? AND state = 'waiting' "
                    "AND (priority IS NULL) = ? ORDER BY queue_at, rowid LIMIT 1",
                    [now.date().isoformat(), code, not priority]).fetchone() for code in codes]
                return min(filter(None, heads), default=None)

            priority_head, normal_head = head(True), head(False)
            priority_id = priority_head[2] if priority_head else None
            normal_id = normal_head[2] if normal_head else None
            streak_row = conn.execute("SELECT priority_streak FROM counter_state WHERE counter = ?",
                                      [counter]).fetchone()
            streak = streak_row[0] if streak_row else 0
            take_priority = choose_priority(streak, self.max_priority_in_row, priority_id is not None,
                                            normal_id is not None)
            chosen = priority_id if take_priority else normal_id
            if chosen is None:
                return None
            conn.execute("INSERT INTO counter_state (counter, priority_streak) VALUES (?, ?) ON CONFLICT (counter) "
                         "DO UPDATE SET priority_streak = excluded.priority_streak",
                         [counter, streak + 1 if take_priority else 0])
            conn.execute("UPDATE tickets SET state = 'called', counter = ?, called_at = ? WHERE id = ?",
                         [counter, _stamp(now), chosen])
            if not take_priority and normal_head is not None:  # numbers from phones queued before it, not here
                virtual.pass_over(conn, now.date().isoformat(), codes, normal_head[:2], _stamp(now))
        self._inputs.changed()  # a counter may serve the service for the first time today
        return self._ticket(chosen)

    def recall(self, ticket_id: str) -> Ticket:
        """Call the same ticket again (the citizen did not come up yet)."""
        return self._move(ticket_id, ("called",), "called", "recalls = recalls + 1, called_at = ?")

    def start(self, ticket_id: str) -> Ticket:
        """The citizen arrived at the counter; service time counts from here."""
        return self._move(ticket_id, ("called",), "serving", "serving_at = ?")

    def finish(self, ticket_id: str) -> Ticket:
        return self._move(ticket_id, ACTIVE_STATES, "done", "finished_at = ?")

    def no_show(self, ticket_id: str) -> Ticket:
        """Called but never came: frees the counter for the next call."""
        return self._move(ticket_id, ("called",), "no_show", "finished_at = ?")

    skip = no_show

    @_serialized
    def transfer(self, ticket_id: str, to_service: str) -> Ticket:
        """Send the citizen to another service with the same number; their place there is by the original issue
        time. Returns the new waiting ticket (the old one becomes ``transferred``).

        :raises UnknownService, UnknownTicket:
        :raises InvalidTransition: the ticket is finished, or already in ``to_service``.
        """
        target = self._service(to_service)
        new_id = secrets.token_urlsafe(9)
        with self._write(QUEUE_LOCK) as conn:
            row = self._row(ticket_id)
            if row["state"] not in ("waiting", *ACTIVE_STATES):
                raise InvalidTransition(f"cannot transfer a {row['state']} ticket")
            if row["service"] == target.code:
                raise InvalidTransition(f"ticket {row['number']} is already in service {target.code}")
            conn.execute("UPDATE tickets SET state = 'transferred', finished_at = ? WHERE id = ?",
                         [_stamp(self._now()), ticket_id])
            conn.execute(
                "INSERT INTO tickets (id, day, service, number, priority, kiosk_id, booking_code, issued_at, queue_at,"
                " transferred_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [new_id, row["day"], target.code, row["number"], row["priority"], row["kiosk_id"],
                 row["booking_code"], row["issued_at"], row["queue_at"], ticket_id])
        return self._ticket(new_id)

    @_serialized
    def _move(self, ticket_id: str, allowed: tuple[str, ...], state: str, extra: str) -> Ticket:
        """``extra`` sets more columns, with one ``?`` for the time of the move."""
        with self._write(QUEUE_LOCK) as conn:
            current = self._row(ticket_id)["state"]
            if current not in allowed:
                raise InvalidTransition(f"cannot go from {current} to {state}")
            conn.execute(f"UPDATE tickets SET state = ?, {extra} WHERE id = ?",
                         [state, _stamp(self._now()), ticket_id])
        self._inputs.changed()  # a finished ticket moves the average service time
        return self._ticket(ticket_id)

    # -- numbers from a phone (``virtual``) -----------------------------------------------------------------------
    def ensure_open(self, service_code: str) -> None:
        """:raises UnknownService, ServiceClosed: checked before a code is sent for a number of the service."""
        service = self._service(service_code)
        now = self._now()
        if not service.is_open(now):
            raise ServiceClosed(service.code, service.next_opening(now))

    @_serialized
    def issue_virtual(self, service_code: str, *, phone: str, view_digest: str, max_per_day: int) -> PhoneTicket:
        """A number from a phone: today's next number of the service, in state ``virtual`` at the end of the line.

        :param phone: the normalised phone (kept for today only); ``view_digest``: the digest of its page's token.
        :raises UnknownService, ServiceClosed, DailyCapReached, HasActiveNumber, PhoneCapReached:
        """
        service = self._service(service_code)
        with self._write(f"numbers:{service.code}") as conn:
            now = self._now()
            if not service.is_open(now):
                raise ServiceClosed(service.code, service.next_opening(now))
            day = now.date().isoformat()
            virtual.check_allowed(conn, day, phone, max_per_day)
            seq, _, _ = numbering.take(conn, service, day)
            row = self._insert(service, seq, f"phone-{secrets.token_urlsafe(12)}", None, None, None, now,
                               phone={"phone": phone, "checkin_code": virtual.new_checkin_code(),
                                      "view_digest": view_digest})
            return self._phone_view(conn, row)

    def phone_ticket(self, view_digest: str) -> PhoneTicket:
        """The number behind a phone page's token, on the reading connection (2,000 phones poll it).

        :raises UnknownTicket:"""
        with self.db.reading() as conn:
            row = _as_dict(conn.execute("SELECT rowid, * FROM tickets WHERE view_digest = ?", [view_digest]))
            if row is None:
                raise UnknownTicket("no number from a phone with that token")
            return self._phone_view(conn, row)

    @_serialized
    def check_in(self, *, code: str | None = None, number: str | None = None) -> Ticket:
        """The holder of a number from a phone arrived: by the page's check-in ``code`` (a kiosk scans its QR) or by
        today's ``number`` (typed at a counter). It joins the waiting line at its original place.

        :raises UnknownCheckIn, AlreadyCheckedIn, NotCheckable, CheckInExpired:
        """
        with self._write(QUEUE_LOCK) as conn:
            if code is not None:
                row = _as_dict(conn.execute("SELECT id, day, state FROM tickets WHERE checkin_code = ?", [code]))
            else:
                row = _as_dict(conn.execute("SELECT id, day, state FROM tickets WHERE day = ? AND number = ? "
                                            "AND phone IS NOT NULL ORDER BY rowid DESC LIMIT 1",
                                            [self._today(), number]))
            if row is None:
                raise UnknownCheckIn("no number from a phone has that code" if code else
                                     f"no number {number} was taken from a phone today")
            if row["day"] != self._today():
                raise CheckInExpired(f"that number was for {row['day']}; take a new one")
            if row["state"] in ("waiting", "called", "serving", "done", "transferred"):
                raise AlreadyCheckedIn("this number is already checked in")
            if row["state"] != "virtual":
                raise NotCheckable(f"this number was {row['state'].replace('_', '-')}: it cannot be checked in")
            conn.execute("UPDATE tickets SET state = 'waiting' WHERE id = ?", [row["id"]])
        return self._ticket(row["id"])

    @_serialized
    def cancel_virtual(self, view_digest: str) -> PhoneTicket:
        """The holder gives the number up (before it is called). :raises UnknownTicket, InvalidTransition:"""
        return self._phone_move(view_digest, "state IN ('virtual', 'waiting')", "cancelled", "finished_at = ?",
                                "only a number not called yet can be cancelled")

    @_serialized
    def requeue_virtual(self, view_digest: str) -> PhoneTicket:
        """A number skipped for not checking in goes back to the end of the line, once.

        :raises UnknownTicket, InvalidTransition:"""
        return self._phone_move(
            view_digest, f"state = 'no_show' AND skip_reason = '{virtual.NOT_CHECKED_IN}' AND requeued = 0 "
                         f"AND day = '{self._today()}'", "virtual",
            "queue_at = ?, requeued = 1, passed_over_at = NULL, skip_reason = NULL, finished_at = NULL, notified = 0",
            "only a number skipped for not checking in can be re-queued, once, on its day")

    @_serialized
    def skip_unchecked(self, grace: timedelta) -> int:
        """Upkeep: skip virtual numbers passed over more than ``grace`` ago; forget earlier days' phones."""
        now = self._now()
        passed_before, today = _stamp(now - grace), now.date().isoformat()
        if not virtual.upkeep_due(self._conn, passed_before, today):  # it runs every second: no empty writes
            return 0
        with self._write(QUEUE_LOCK) as conn:
            skipped = virtual.skip_unchecked(conn, passed_before, _stamp(now))
            virtual.forget_phones(conn, today)
        return skipped

    def _phone_move(self, view_digest: str, allowed: str, state: str, extra: str, refusal: str) -> PhoneTicket:
        """``allowed``: an SQL condition (constants only); ``extra`` sets more columns with one ``?`` for now."""
        with self._write(QUEUE_LOCK) as conn:
            moved = _as_dict(conn.execute(f"UPDATE tickets SET state = ?, {extra} WHERE view_digest = ? AND "
                                          f"{allowed} RETURNING rowid, *", [state, _stamp(self._now()), view_digest]))
            if moved is None:
                if not conn.execute("SELECT 1 FROM tickets WHERE view_digest = ?", [view_digest]).fetchone():
                    raise UnknownTicket("no number from a phone with that token")
                raise InvalidTransition(refusal)
        return self._phone_view(self._conn, moved)

    def _phone_view(self, conn: Connection, row: dict[str, Any]) -> PhoneTicket:
        """A number from a phone as its page shows it; a transferred one shows the ticket it became."""
        current = row
        while current["state"] == "transferred":
            successor = _as_dict(conn.execute("SELECT rowid, * FROM tickets WHERE transferred_from = ?",
                                              [current["id"]]))
            if successor is None:
                break
            current = successor
        state, day, service = current["state"], current["day"], current["service"]
        if state == "virtual":
            ahead = self._places.ahead(conn, day, service, current["queue_at"], current["rowid"])
        elif state == "waiting":
            ahead = estimate.people_ahead(conn, day, service, current["priority"], current["queue_at"],
                                          current["rowid"])
        else:
            ahead = 0
        known = self.services.get(service)
        wait = self._inputs.wait_s(conn, day, service, ahead, known.counters if known else [])
        return PhoneTicket(id=row["id"], number=current["number"], service=service, day=date.fromisoformat(day),
                           state=state, counter=current["counter"], people_ahead=ahead, estimated_wait_s=wait,
                           checkin_code=row["checkin_code"],
                           requeue_allowed=row["state"] == "no_show" and row["skip_reason"] == virtual.NOT_CHECKED_IN
                           and not row["requeued"] and day == self._today())

    # -- helpers ------------------------------------------------------------------------------------------------
    @contextmanager
    def _write(self, lock: str, *, moves_line: bool | None = None) -> Iterator[Connection]:
        """One write transaction under ``lock`` (``Database.transaction``), counted for the group commit once it
        committed. ``moves_line`` (default: every change of existing tickets, under ``QUEUE_LOCK``): it may change
        the places of numbers already in a line, which the phones' pages read (``virtual.Places``); a new number
        at the back changes none. :raises QueueBusy: SQLite's file stayed locked (another process holds it)."""
        try:
            with self.db.transaction(lock) as conn:
                yield conn
        except StoreBusy as exc:
            raise QueueBusy(f"the queue database stayed locked: {exc}") from exc
        if self._sync is not None:
            self._sync.committed()
        moved = lock == QUEUE_LOCK if moves_line is None else moves_line
        if moved:
            self._places.changed()

    def _ticket(self, ticket_id: str) -> Ticket:
        """The ticket as a citizen sees it."""
        return self._view(self._row(ticket_id))

    def _view(self, row: dict[str, Any], ahead: int | None = None) -> Ticket:
        """A ticket's row as a citizen sees it; ``ahead`` when the caller already knows the people ahead of it."""
        if ahead is None:
            ahead = estimate.people_ahead(self._conn, row["day"], row["service"], row["priority"], row["queue_at"],
                                          row["rowid"]) if row["state"] == "waiting" else 0
        service = self.services.get(row["service"])
        wait = self._inputs.wait_s(self._conn, row["day"], row["service"], ahead, service.counters if service else [])
        return Ticket(id=row["id"], number=row["number"], service=row["service"], priority=row["priority"],
                      issued_at=datetime.fromisoformat(row["issued_at"]), state=row["state"], counter=row["counter"],
                      people_ahead=ahead, estimated_wait_s=wait, kiosk_id=row["kiosk_id"])

    def _row(self, ticket_id: str) -> dict[str, Any]:
        row = _as_dict(self._conn.execute("SELECT rowid, * FROM tickets WHERE id = ?", [ticket_id]))
        if row is None:
            raise UnknownTicket(f"no ticket {ticket_id!r}")
        return row

    def _waiting_counts(self, day: str) -> dict[str, int]:
        return dict(self._conn.execute("SELECT service, SUM(waiting) FROM line_counts WHERE day = ? GROUP BY service",
                                       [day]).fetchall())

    def _service(self, code: str) -> ServiceDef:
        try:
            return self.services[code]
        except KeyError:
            raise UnknownService(f"unknown service {code!r}; known: {', '.join(self.services)}") from None

    @staticmethod
    def _priority(priority: str | None, booking_code: str | None) -> str | None:
        """A booking check-in is a ``booking`` priority ticket unless another category is named."""
        priority = priority or ("booking" if booking_code else None)
        if priority is not None and priority not in PRIORITY_CODES:
            raise UnknownPriority(f"unknown priority {priority!r}; known: {', '.join(PRIORITY_CODES)}")
        return priority

    def _now(self) -> datetime:
        with self._clock_lock:  # threads of a PostgreSQL engine run at once
            now = self._clock().astimezone(LOCAL_TZ)
            if self._latest is None or now > self._latest or self._latest - now > MAX_CLOCK_HOLD:
                self._latest = now
            return self._latest

    def _today(self) -> str:
        return self._now().date().isoformat()

    def close(self) -> None:
        for stop in self._on_close:
            stop()
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.db.close()
        if self._sync is not None:
            self._sync.close()
