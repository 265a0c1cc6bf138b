"""What the queue engine returns: immutable snapshots, safe to hand to another thread or serialise as JSON.

Times are aware datetimes in Asia/Ho_Chi_Minh; durations are whole seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Ticket:
    id: str                      # random and url-safe: the tracking link …/t/<id> cannot be guessed from a number
    number: str                  # what the citizen holds, e.g. "A012"; kept across a transfer
    service: str
    priority: str | None
    issued_at: datetime
    state: str                   # waiting, called, serving, done, no_show or transferred
    counter: int | None
    people_ahead: int            # 0 unless waiting
    estimated_wait_s: int
    kiosk_id: str | None


@dataclass(frozen=True)
class ServiceOverview:
    code: str
    name_vi: str
    name_en: str
    waiting: int
    open_now: bool
    next_opening: datetime | None   # None while open


@dataclass(frozen=True)
class ServiceStatus:
    code: str
    waiting: int
    next_number: str | None         # the number a counter would call next (priority policy aside)
    estimated_wait_s: int           # for a citizen taking a number now


@dataclass(frozen=True)
class CounterStatus:
    counter: int
    number: str
    service: str
    state: str                      # called or serving
    called_at: datetime


@dataclass(frozen=True)
class QueueStatus:
    at: datetime
    services: list[ServiceStatus]
    counters: list[CounterStatus]   # only counters with a current ticket, by counter


@dataclass(frozen=True)
class NumberBlock:
    """Numbers ``first_seq..last_seq`` of one service and day, leased to one kiosk to hand out while offline.

    Carries ``prefix`` and ``digits`` so the kiosk formats the numbers exactly as the queue would.
    """

    id: str
    service: str
    day: date
    first_seq: int
    last_seq: int
    holder: str
    prefix: str
    digits: int

    @property
    def size(self) -> int:
        return self.last_seq - self.first_seq + 1

    def number(self, seq: int) -> str:
        return f"{self.prefix}{seq:0{self.digits}d}"


@dataclass(frozen=True)
class PhoneTicket:
    """A number taken from a phone, as its holder's page sees it (``queueing.virtual``); never the phone itself.

    ``state`` is the ticket's (virtual until checked in; a transferred one shows where it went), ``people_ahead``
    counts everyone before it in its line, printed and virtual numbers alike, while it is virtual or waiting.
    """

    id: str
    number: str
    service: str
    day: date
    state: str                   # virtual, waiting, called, serving, done, no_show, cancelled
    counter: int | None
    people_ahead: int
    estimated_wait_s: int
    checkin_code: str
    requeue_allowed: bool
