"""Why the queue said no, in the queue's own words (the kiosk and the branch server map each to a message)::

    QueueError
    ├── UnknownService     no service with that code
    ├── UnknownPriority    not one of the priority categories (also a ValueError)
    ├── ServiceClosed      outside opening hours (``next_opening`` says when it opens)
    ├── DailyCapReached    the service handed out all of today's numbers
    ├── InvalidTransition  e.g. finishing a ticket nobody called
    ├── CounterBusy        a counter calls the next number while it still has one
    ├── UnknownTicket
    ├── UnknownBlock       an offline ticket names a number block the queue never leased
    ├── NumberNotLeased    an offline ticket's number is outside its block or its lease's time, or already used
    ├── NotYourBlock       an offline ticket names a block leased to another kiosk
    ├── NotToday           numbers or offline tickets of a day other than today
    ├── KioskRefused       the branch server does not know the kiosk's token (a kiosk-side setting to fix)
    ├── QueueBusy          the database stayed locked past the busy timeout
    ├── UnknownCheckIn, AlreadyCheckedIn, NotCheckable, CheckInExpired   checking in a number from a phone
    └── HasActiveNumber, PhoneCapReached   taking a number from a phone
"""

from __future__ import annotations

from datetime import datetime


class QueueError(Exception):
    pass


class UnknownService(QueueError):
    pass


class UnknownPriority(QueueError, ValueError):
    pass


class ServiceClosed(QueueError):
    def __init__(self, service: str, next_opening: datetime | None) -> None:
        when = next_opening.strftime("%H:%M %d/%m") if next_opening else "not within a week"
        super().__init__(f"service {service} is closed; opens {when}")
        self.service = service
        self.next_opening = next_opening


class DailyCapReached(QueueError):
    pass


class InvalidTransition(QueueError):
    pass


class CounterBusy(QueueError):
    pass


class UnknownTicket(QueueError):
    pass


class UnknownBlock(QueueError):
    pass


class NumberNotLeased(QueueError):
    pass


class NotYourBlock(QueueError):
    pass


class NotToday(QueueError):
    pass


class KioskRefused(QueueError):
    pass


class QueueBusy(QueueError):
    pass


class UnknownCheckIn(QueueError):
    """No number from a phone has that check-in code (or, at a counter, that number today)."""


class AlreadyCheckedIn(QueueError):
    pass


class NotCheckable(QueueError):
    """The number from a phone was cancelled or skipped: it cannot be checked in (re-queue it from the phone)."""


class CheckInExpired(QueueError):
    """The check-in code is of an earlier day."""


class HasActiveNumber(QueueError):
    """The phone already holds a number here today that is not finished."""


class PhoneCapReached(QueueError):
    """The centre handed out its numbers from phones for today (``queue.phone.max_per_day``)."""
