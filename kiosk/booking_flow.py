"""Check in a booking (scanned from the iHanoi app or typed): the backend checks the time window, then the
kiosk issues a ``booking`` priority ticket for the booked service.

The ticket's request id is derived from the booking code, so scanning the same booking twice (or a retry after a
crash between check-in and ticket) gives the same ticket, never a second one. The flow only issues (commits) the
ticket: the core answers the citizen with it first and has it rendered and printed afterwards, exactly as for a
number taken by a tap (:meth:`kiosk.core.KioskCore.check_in`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.backend_client import BackendClient, BackendError, BackendRejected, BackendUnavailable, NotFound
from kiosk.queue_flow import QueueFlow, QueueRefused, TicketInfo

REFUSALS = ("too_early", "too_late", "used")


@dataclass(frozen=True)
class BookingResult:
    code: str
    outcome: str  # checked_in | too_early | too_late | used | not_found | unavailable | queue_refused
    ticket: TicketInfo | None = None  # issued, not yet printed: the caller sends it to the printer
    message_key: str = ""  # for queue_refused: why no ticket could be issued


class BookingFlow:
    def __init__(self, client: Callable[[], BackendClient | None], queue: QueueFlow) -> None:
        self._client = client
        self._queue = queue

    def check_in(self, code: str) -> BookingResult:
        """Check ``code`` in with the backend and issue its ticket (committed, not printed). Blocking: network."""
        client = self._client()
        if client is None:
            return BookingResult(code, "unavailable")
        try:
            booking = client.check_in(code)
        except NotFound:
            return BookingResult(code, "not_found")
        except BackendRejected as exc:
            return BookingResult(code, exc.code if exc.code in REFUSALS else "not_found")
        except (BackendUnavailable, BackendError):
            return BookingResult(code, "unavailable")
        try:
            ticket = self._queue.issue(str(booking["service"]), request_id=f"booking-{code}", booking_code=code)
        except QueueRefused as refusal:
            return BookingResult(code, "queue_refused", message_key=refusal.message_key)
        return BookingResult(code, "checked_in", ticket)
