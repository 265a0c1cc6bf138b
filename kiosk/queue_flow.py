"""The "Lấy số thứ tự" flow: list services, issue a ticket, print it, reprint it — without ever losing a ticket.

The ticket is committed by the queue (local SQLite engine or the branch server) before anything is printed;
printing runs on the print queue's worker and reports back through ``ticket_print`` events, so a printer fault
only changes what the ticket screen says. The kiosk shows the number as soon as it is committed
(:meth:`QueueFlow.issue`) and renders and prints it after (:meth:`QueueFlow.send_to_printer`): rendering the job
costs tens of milliseconds, the first one far more, and the citizen should not wait for either. Each tap gets a
fresh request id, and the id is reused for retries of the same tap, so a double tap or a retried request never
makes two tickets.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Protocol

from config.localtime import LOCAL_TZ
from config.schema import KioskConfig
from contracts.storage import storage_full
from devices.errors import DeviceError
from devices.escpos.capability_cache import load_capabilities
from kiosk.tickets import TicketPrint, printer_profile, ticket_document
from queueing.errors import DailyCapReached, QueueError, ServiceClosed, UnknownService
from queueing.priority import KIOSK_ASSIGNED, PRIORITY_CODES

log = logging.getLogger(__name__)
PrintJob = Callable[[bytes, Callable[[DeviceError | None], None]], None]
SCREEN_FIRST_S = 0.15
"""How long a new ticket's rendering waits for the ticket screen's first frame. Rendering (PIL, the QR encoder)
holds the interpreter for tens of milliseconds, and the screen's first frame needs it as well: 50–60 ms become
95–110 ms when the two overlap on this machine. Paper takes seconds anyway; the number on screen should not wait."""


class RenderFailed(DeviceError):
    """The ticket could not be turned into printer bytes (a bug, logged): reported like a printer fault."""

    status = "unknown"


class PrintState(str, Enum):
    PRINTING = "printing"
    PRINTED = "printed"
    FAILED = "failed"


class QueueRefused(Exception):
    """No ticket: ``message_key`` is the catalogue key the screen shows, ``values`` fill it."""

    def __init__(self, message_key: str, **values: object) -> None:
        super().__init__(message_key)
        self.message_key = message_key
        self.values = values


@dataclass(frozen=True)
class ServiceItem:
    code: str
    name_vi: str
    name_en: str
    waiting: int
    open_now: bool
    next_opening: str | None

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name_vi


@dataclass(frozen=True)
class TicketInfo:
    id: str
    number: str
    service_code: str
    service_vi: str
    service_en: str
    issued_at: datetime
    people_ahead: int
    estimated_wait_s: int
    tracking_url: str
    priority: str | None
    print_state: PrintState = PrintState.PRINTING
    print_reason: str = ""

    def service_name(self, lang: str) -> str:
        return self.service_en if lang == "en" and self.service_en else self.service_vi

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id, "number": self.number, "service": self.service_code, "service_name": self.service_vi,
            "issued_at": self.issued_at.isoformat(), "people_ahead": self.people_ahead,
            "estimated_wait_s": self.estimated_wait_s, "tracking_url": self.tracking_url, "priority": self.priority,
        }


class QueueBackend(Protocol):
    """What the flow needs from a queue: the local engine and the branch-server client both provide it."""

    def services_overview(self) -> list: ...

    def issue(self, service_code: str, *, request_id: str, priority: str | None, kiosk_id: str,
              booking_code: str | None = None): ...


class QueueFlow:
    def __init__(self, config: KioskConfig, queue: QueueBackend, print_job: PrintJob,
                 publish: Callable[..., None], language: Callable[[], str]) -> None:
        self._config = config
        self._queue = queue
        self._print_job = print_job
        self._publish = publish
        self._language = language
        self._profile = printer_profile(config)
        self._tickets: dict[str, TicketInfo] = {}

    def use_config(self, config: KioskConfig) -> None:
        """Tickets from now on follow ``config`` (the technician changed the printer's profile or paper width)."""
        self._config = config
        self._profile = printer_profile(config)

    def services(self) -> list[ServiceItem]:
        return [
            ServiceItem(s.code, s.name_vi, s.name_en, s.waiting, s.open_now,
                        s.next_opening.strftime("%H:%M") if s.next_opening else None)
            for s in self._queue.services_overview()
        ]

    @staticmethod
    def priority_codes() -> tuple[str, ...]:
        return tuple(code for code in PRIORITY_CODES if code not in KIOSK_ASSIGNED)

    def take(self, service_code: str, priority: str | None = None, request_id: str | None = None,
             booking_code: str | None = None) -> TicketInfo:
        """Issue (committed) then start printing; raises :class:`QueueRefused` when no ticket can be issued."""
        ticket = self.issue(service_code, priority, request_id, booking_code)
        self.reprint(ticket.id)
        return ticket

    def issue(self, service_code: str, priority: str | None = None, request_id: str | None = None,
              booking_code: str | None = None) -> TicketInfo:
        """Issue a ticket (committed) without printing it: the caller shows it, then calls :meth:`send_to_printer`.

        Raises :class:`QueueRefused` when no ticket can be issued.
        """
        try:
            issued = self._queue.issue(service_code, request_id=request_id or secrets.token_hex(8),
                                       priority=priority, kiosk_id=self._config.kiosk.id, booking_code=booking_code)
        except ServiceClosed as exc:
            raise QueueRefused("queue.refused.closed") from exc
        except DailyCapReached as exc:
            raise QueueRefused("queue.refused.cap") from exc
        except UnknownService as exc:
            raise QueueRefused("queue.refused.unknown") from exc
        except (QueueError, OSError, sqlite3.Error) as exc:
            full = storage_full(exc, "queue")  # reported there; the citizen is told why
            raise QueueRefused("queue.storage_full" if full else "queue.refused.unavailable") from exc
        service = next((s for s in self.services() if s.code == issued.service), None)
        ticket = TicketInfo(
            id=issued.id, number=issued.number, service_code=issued.service,
            service_vi=service.name_vi if service else issued.service,
            service_en=service.name_en if service else issued.service,
            issued_at=issued.issued_at, people_ahead=issued.people_ahead,
            estimated_wait_s=issued.estimated_wait_s, tracking_url=self.tracking_url(issued.id),
            priority=issued.priority,
        )
        self._tickets[ticket.id] = ticket
        return ticket

    def ticket(self, ticket_id: str) -> TicketInfo | None:
        """A ticket issued in this session, with its latest print outcome (None once the session forgot it)."""
        return self._tickets.get(ticket_id)

    def tracking_url(self, ticket_id: str) -> str:
        return f"{self._config.queue.public_url.rstrip('/')}/t/{ticket_id}"

    def reprint(self, ticket_id: str) -> None:
        """(Re)send a ticket of this session to the printer; the outcome arrives as a ``ticket_print`` event."""
        self.send_to_printer(self._tickets[ticket_id])

    def send_to_printer(self, ticket: TicketInfo, after_s: float = 0.0) -> None:
        """Render ``ticket`` (``after_s`` seconds from now, on the caller's worker) and queue it for the printer,
        whether or not the session still keeps it; the outcome arrives as a ``ticket_print`` event (a ticket that
        could not even be rendered is reported as a failed print: the number stands, the screen offers a
        reprint)."""
        time.sleep(after_s)
        ticket_id = ticket.id
        lang = self._language()
        try:
            job = self._render(TicketPrint(
                number=ticket.number, service_name=ticket.service_name(lang), issued_at=ticket.issued_at,
                people_ahead=ticket.people_ahead, estimated_wait_s=ticket.estimated_wait_s,
                tracking_url=ticket.tracking_url, priority=ticket.priority,
            ), lang)
        except Exception:  # noqa: BLE001 — a bug in rendering must still end the ticket's "printing…"
            log.exception("rendering ticket %s failed", ticket.number)
            job = None

        def done(error: DeviceError | None) -> None:
            state = PrintState.PRINTED if error is None else PrintState.FAILED
            reason = "" if error is None else error.status
            if ticket_id in self._tickets:  # the session may have ended (and forgotten it) while printing
                self._tickets[ticket_id] = replace(self._tickets[ticket_id], print_state=state, print_reason=reason)
            self._publish("ticket_print", ticket_id=ticket_id, state=state, reason=reason)

        if job is None:
            done(RenderFailed())
        else:
            self._print_job(job, done)

    def warm_up(self) -> None:
        """Render a sample ticket and throw it away, so the first citizen's print does not pay for loading
        python-escpos (its capabilities cached under the data dir), PIL's fonts and the QR encoder: 0.5–0.8 s here.
        Meant for a worker once the first frame is shown."""
        load_capabilities(self._config.data_dir / "cache")
        self._render(TicketPrint(number="A000", service_name="Hộ tịch", issued_at=datetime.now(LOCAL_TZ),
                                 people_ahead=1, estimated_wait_s=60, tracking_url=self.tracking_url("warm-up")),
                     self._language())

    def _render(self, ticket: TicketPrint, lang: str) -> bytes:
        from devices.escpos.render import render  # python-escpos and PIL load on a worker, never at import

        return render(ticket_document(ticket, self._config, lang), self._profile)

    def forget(self) -> None:
        """Drop the tickets kept for reprinting (end of the citizen's session)."""
        self._tickets.clear()
