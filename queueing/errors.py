"""Why the queue said no, in the queue's own words (the kiosk maps each to a citizen-facing message)::

    QueueError
    ├── UnknownService     no service with that code
    ├── ServiceClosed      outside opening hours (``next_opening`` says when it opens)
    ├── DailyCapReached    the service issued all of today's numbers
    ├── InvalidTransition  e.g. finishing a ticket nobody called
    ├── CounterBusy        a counter calls the next number while it still has one
    └── UnknownTicket
"""

from __future__ import annotations

from datetime import datetime


class QueueError(Exception):
    pass


class UnknownService(QueueError):
    pass


class ServiceClosed(QueueError):
    def __init__(self, service: str, next_opening: datetime | None) -> None:
        when = next_opening.strftime("%H:%M %d/%m") if next_opening else "not this week"
        super().__init__(f"service {service} is closed; opens {when}")
        self.next_opening = next_opening


class DailyCapReached(QueueError):
    pass


class InvalidTransition(QueueError):
    pass


class CounterBusy(QueueError):
    pass


class UnknownTicket(QueueError):
    pass
