"""The queue engine: issue numbers, call them at counters, and answer "how many people are ahead of me?".

Numbers are dense per service per local day (Asia/Ho_Chi_Minh) and reset at local midnight. Issuing is one
``BEGIN IMMEDIATE`` transaction that is idempotent per request id, so a double tap or a retried request returns
the same ticket, even from another process. Ticket states::

    waiting → called → serving → done
                 │  └────────→ done
                 ├→ no_show
                 └→ transferred  (a new waiting ticket in the target service keeps the original place in line)

Time comes from an injected clock returning aware datetimes, so tests move it across midnight.
"""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from queueing.db import connect, immediate
from queueing.errors import (
    CounterBusy, DailyCapReached, InvalidTransition, ServiceClosed, UnknownService, UnknownTicket,
)
from queueing.priority import PRIORITY_CODES, choose_priority
from queueing.services import LOCAL_TZ, ServiceDef

DEFAULT_SERVICE_S = 300  # five minutes per citizen until there is data
RECENT_FOR_AVERAGE = 20
ACTIVE_STATES = ("called", "serving")


@dataclass(frozen=True)
class Ticket:
    id: str
    number: str
    service: str
    priority: str | None
    issued_at: datetime
    state: str
    counter: int | None
    people_ahead: int
    estimated_wait_s: int
    kiosk_id: str | None


@dataclass(frozen=True)
class ServiceOverview:
    code: str
    name_vi: str
    name_en: str
    waiting: int
    open_now: bool
    next_opening: datetime | None


def _now_local(clock: Callable[[], datetime]) -> datetime:
    return clock().astimezone(LOCAL_TZ)


class QueueEngine:
    def __init__(self, path: Path | str, services: Iterable[ServiceDef], *, max_priority_in_row: int = 3,
                 clock: Callable[[], datetime] = lambda: datetime.now(LOCAL_TZ)) -> None:
        self.db = connect(path)
        self.services = {service.code: service for service in services}
        self.max_priority_in_row = max_priority_in_row
        self._clock = clock

    # -- issuing ------------------------------------------------------------------------------------------------
    def issue(self, service_code: str, *, request_id: str, priority: str | None = None,
              kiosk_id: str | None = None, booking_code: str | None = None) -> Ticket:
        """Issue (or return the already issued) ticket for ``request_id``; committed before it returns."""
        service = self._service(service_code)
        if priority is not None and priority not in PRIORITY_CODES:
            raise ValueError(f"unknown priority {priority!r}")
        now = _now_local(self._clock)
        day = now.date().isoformat()
        with immediate(self.db) as conn:
            existing = conn.execute("SELECT id FROM tickets WHERE request_id = ?", [request_id]).fetchone()
            if existing:
                ticket_id = existing[0]
            else:
                if not service.is_open(now):
                    raise ServiceClosed(service.code, service.next_opening(now))
                issued = conn.execute("SELECT COUNT(*), MAX(seq) FROM tickets WHERE day = ? AND service = ? "
                                      "AND transferred_from IS NULL", [day, service.code]).fetchone()
                if service.daily_cap is not None and issued[0] >= service.daily_cap:
                    raise DailyCapReached(f"service {service.code} issued its {service.daily_cap} numbers today")
                seq = service.first_number if issued[1] is None else issued[1] + 1
                ticket_id = secrets.token_urlsafe(9)
                stamp = now.isoformat()
                conn.execute(
                    "INSERT INTO tickets (id, request_id, day, service, seq, number, priority, kiosk_id, booking_code,"
                    " issued_at, queue_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [ticket_id, request_id, day, service.code, seq, service.format_number(seq), priority, kiosk_id,
                     booking_code, stamp, stamp],
                )
        return self.ticket(ticket_id)

    # -- reading ------------------------------------------------------------------------------------------------
    def ticket(self, ticket_id: str) -> Ticket:
        row = self._row(ticket_id)
        ahead = self._people_ahead(row) if row["state"] == "waiting" else 0
        return Ticket(
            id=row["id"], number=row["number"], service=row["service"], priority=row["priority"],
            issued_at=datetime.fromisoformat(row["issued_at"]), state=row["state"], counter=row["counter"],
            people_ahead=ahead, estimated_wait_s=self.estimate_wait_s(row["service"], ahead),
            kiosk_id=row["kiosk_id"],
        )

    def services_overview(self) -> list[ServiceOverview]:
        now = _now_local(self._clock)
        counts = dict(self.db.execute(
            "SELECT service, COUNT(*) FROM tickets WHERE day = ? AND state = 'waiting' GROUP BY service",
            [now.date().isoformat()]).fetchall())
        return [
            ServiceOverview(s.code, s.name_vi, s.name_en, counts.get(s.code, 0), s.is_open(now),
                            None if s.is_open(now) else s.next_opening(now))
            for s in self.services.values()
        ]

    def waiting(self, service_code: str) -> list[Ticket]:
        """Waiting tickets of a service in the order they would be called (priority first, then by place)."""
        day = _now_local(self._clock).date().isoformat()
        rows = self.db.execute(
            "SELECT id FROM tickets WHERE day = ? AND service = ? AND state = 'waiting' "
            "ORDER BY priority IS NULL, queue_at, rowid", [day, service_code]).fetchall()
        return [self.ticket(row[0]) for row in rows]

    def current(self, counter: int) -> Ticket | None:
        row = self.db.execute("SELECT id FROM tickets WHERE counter = ? AND state IN ('called', 'serving')",
                              [counter]).fetchone()
        return self.ticket(row[0]) if row else None

    def _people_ahead(self, row: dict[str, Any]) -> int:
        """Waiting tickets of the same service called before this one: all priority tickets ahead in line, and
        ordinary tickets ahead in line. (The N-in-a-row policy can let one ordinary ticket overtake a priority one;
        the estimate ignores that.)"""
        base = "SELECT COUNT(*) FROM tickets WHERE day = ? AND service = ? AND state = 'waiting' AND "
        key = [row["day"], row["service"]]
        place = [row["queue_at"], row["queue_at"], row["rowid"]]
        # queue_at <= ? lets the index narrow the range before the exact (queue_at, rowid) comparison
        before_me = "queue_at <= ? AND (queue_at, rowid) < (?, ?)"
        if row["priority"]:
            return self.db.execute(base + f"priority IS NOT NULL AND {before_me}", key + place).fetchone()[0]
        priority = self.db.execute(base + "priority IS NOT NULL", key).fetchone()[0]
        return priority + self.db.execute(base + f"priority IS NULL AND {before_me}", key + place).fetchone()[0]

    def estimate_wait_s(self, service_code: str, people_ahead: int) -> int:
        """people ahead × recent average service time ÷ counters working on the service today."""
        durations = [
            (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
            for start, end in self.db.execute(
                "SELECT COALESCE(serving_at, called_at), finished_at FROM tickets WHERE service = ? AND state = 'done'"
                " AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
                [service_code, RECENT_FOR_AVERAGE]).fetchall()
        ]
        average = statistics.fmean(durations) if durations else DEFAULT_SERVICE_S
        day = _now_local(self._clock).date().isoformat()
        active = self.db.execute("SELECT COUNT(DISTINCT counter) FROM tickets WHERE day = ? AND service = ? AND "
                                 "counter IS NOT NULL", [day, service_code]).fetchone()[0]
        configured = len(self.services[service_code].counters) if service_code in self.services else 1
        counters = max(1, min(active or configured, configured))
        return round(people_ahead * average / counters)

    # -- counters ---------------------------------------------------------------------------------------------
    def call_next(self, counter: int, services: Iterable[str] | None = None) -> Ticket | None:
        """Call the next ticket for a counter under the priority policy; None when nobody waits."""
        codes = list(services) if services is not None else [
            s.code for s in self.services.values() if counter in s.counters]
        if not codes:
            return None
        now = _now_local(self._clock)
        marks = ",".join("?" * len(codes))
        with immediate(self.db) as conn:
            if conn.execute("SELECT 1 FROM tickets WHERE counter = ? AND state IN ('called', 'serving')",
                            [counter]).fetchone():
                raise CounterBusy(f"counter {counter} still has a ticket; finish or skip it first")

            def first(priority: bool) -> str | None:
                found = conn.execute(
                    f"SELECT id FROM tickets WHERE day = ? AND service IN ({marks}) AND state = 'waiting' AND "
                    f"priority IS {'NOT ' if priority else ''}NULL ORDER BY queue_at, rowid LIMIT 1",
                    [now.date().isoformat(), *codes]).fetchone()
                return found[0] if found else None

            priority_id, normal_id = first(True), first(False)
            streak_row = conn.execute("SELECT priority_streak FROM counter_state WHERE counter = ?",
                                      [counter]).fetchone()
            streak = streak_row[0] if streak_row else 0
            take_priority = choose_priority(streak, self.max_priority_in_row, priority_id is not None,
                                            normal_id is not None)
            chosen = priority_id if take_priority else normal_id
            if chosen is None:
                return None
            conn.execute("INSERT INTO counter_state (counter, priority_streak) VALUES (?, ?) ON CONFLICT(counter) "
                         "DO UPDATE SET priority_streak = excluded.priority_streak",
                         [counter, streak + 1 if take_priority else 0])
            conn.execute("UPDATE tickets SET state = 'called', counter = ?, called_at = ? WHERE id = ?",
                         [counter, now.isoformat(), chosen])
        return self.ticket(chosen)

    def recall(self, ticket_id: str) -> Ticket:
        return self._move(ticket_id, ("called",), "called", "recalls = recalls + 1, called_at = :now")

    def start(self, ticket_id: str) -> Ticket:
        return self._move(ticket_id, ("called",), "serving", "serving_at = :now")

    def finish(self, ticket_id: str) -> Ticket:
        return self._move(ticket_id, ACTIVE_STATES, "done", "finished_at = :now")

    def no_show(self, ticket_id: str) -> Ticket:
        return self._move(ticket_id, ("called",), "no_show", "finished_at = :now")

    def transfer(self, ticket_id: str, to_service: str) -> Ticket:
        """Send the citizen to another service; their place there is by the original issue time."""
        self._service(to_service)
        new_id = secrets.token_urlsafe(9)
        with immediate(self.db) as conn:
            row = self._row(ticket_id)
            if row["state"] not in ("waiting", *ACTIVE_STATES):
                raise InvalidTransition(f"cannot transfer a {row['state']} ticket")
            now = _now_local(self._clock).isoformat()
            conn.execute("UPDATE tickets SET state = 'transferred', finished_at = ? WHERE id = ?", [now, ticket_id])
            conn.execute(
                "INSERT INTO tickets (id, day, service, number, priority, kiosk_id, issued_at, queue_at, "
                "transferred_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [new_id, row["day"], to_service, row["number"], row["priority"], row["kiosk_id"], row["issued_at"],
                 row["queue_at"], ticket_id],
            )
        return self.ticket(new_id)

    def _move(self, ticket_id: str, allowed: tuple[str, ...], state: str, extra: str) -> Ticket:
        with immediate(self.db) as conn:
            current = self._row(ticket_id)["state"]
            if current not in allowed:
                raise InvalidTransition(f"cannot go from {current} to {state}")
            conn.execute(f"UPDATE tickets SET state = :state, {extra} WHERE id = :id",
                         {"state": state, "id": ticket_id, "now": _now_local(self._clock).isoformat()})
        return self.ticket(ticket_id)

    # -- helpers -------------------------------------------------------------------------------------------------
    def _service(self, code: str) -> ServiceDef:
        try:
            return self.services[code]
        except KeyError:
            raise UnknownService(f"unknown service {code!r}; known: {', '.join(self.services)}") from None

    def _row(self, ticket_id: str) -> dict[str, Any]:
        cursor = self.db.execute("SELECT rowid, * FROM tickets WHERE id = ?", [ticket_id])
        row = cursor.fetchone()
        if row is None:
            raise UnknownTicket(ticket_id)
        return dict(zip([c[0] for c in cursor.description], row))

    def rows_for_day(self, day: date) -> list[dict[str, Any]]:
        cursor = self.db.execute("SELECT * FROM tickets WHERE day = ? ORDER BY issued_at", [day.isoformat()])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def close(self) -> None:
        self.db.close()
