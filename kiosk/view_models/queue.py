"""Take a number: the service list, the priority groups, the issued ticket and a refusal, as the screens show them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from kiosk.i18n import tr
from kiosk.queue_flow import PrintState, ServiceItem, TicketInfo


@dataclass(frozen=True)
class ServiceRow:
    code: str
    title: str
    detail: str  # waiting count, or when it opens
    enabled: bool  # open now: a tap takes a number


@dataclass(frozen=True)
class ServiceList:
    rows: tuple[ServiceRow, ...]
    message: str = ""  # why there is nothing to choose (the queue system was never reached)


@dataclass(frozen=True)
class PriorityOption:
    code: str
    label: str


@dataclass(frozen=True)
class TicketView:
    id: str
    number: str
    service_code: str
    service: str
    priority: str | None
    people_ahead: int
    ahead_text: str
    wait_text: str
    issued_text: str
    tracking_url: str
    print_state: str  # printing | printed | failed
    print_reason: str  # the printer's status code when failed
    print_text: str

    @property
    def can_reprint(self) -> bool:
        return self.print_state == PrintState.FAILED.value


@dataclass(frozen=True)
class TicketOutcome:
    """The answer to one ticket request: the ticket, or why there is none (``refusal``, already worded)."""

    request: int
    ticket: TicketView | None
    refusal: str = ""


def service_list(items: list[ServiceItem], lang: str) -> ServiceList:
    rows = tuple(ServiceRow(item.code, item.name(lang), _detail(item, lang), item.open_now) for item in items)
    return ServiceList(rows, "" if rows else tr("queue.no_services", lang))


def _detail(item: ServiceItem, lang: str) -> str:
    if item.open_now:
        return tr("queue.waiting", lang, count=item.waiting)
    return tr("queue.opens_at", lang, time=item.next_opening) if item.next_opening else tr("queue.closed", lang)


def priority_options(codes: tuple[str, ...], lang: str) -> tuple[PriorityOption, ...]:
    return tuple(PriorityOption(code, tr(f"priority.{code}", lang)) for code in codes)


def ticket_view(ticket: TicketInfo, lang: str) -> TicketView:
    state, reason = ticket.print_state, ticket.print_reason
    if state is PrintState.FAILED:
        print_text = tr("ticket.print_failed", lang, reason=tr(f"status.{reason}", lang))
    else:
        print_text = tr(f"ticket.{state.value}", lang)
    return TicketView(
        id=ticket.id, number=ticket.number, service_code=ticket.service_code, service=ticket.service_name(lang),
        priority=ticket.priority, people_ahead=ticket.people_ahead,
        ahead_text=tr("ticket.people_ahead", lang, count=ticket.people_ahead),
        wait_text=tr("ticket.wait", lang, minutes=math.ceil(ticket.estimated_wait_s / 60)) if ticket.people_ahead
        else tr("ticket.wait_none", lang),
        issued_text=tr("ticket.issued_at", lang, time=ticket.issued_at.strftime("%H:%M %d/%m/%Y")),
        tracking_url=ticket.tracking_url, print_state=state.value, print_reason=reason, print_text=print_text,
    )
