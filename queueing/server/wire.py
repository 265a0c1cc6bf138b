"""The branch queue's JSON wire format: engine snapshots to JSON on the server and back to the same objects on a
kiosk, and queue refusals to ``{"error": message, "code": ...}`` and back to the same exceptions.

Both sides use this module, so a kiosk in branch mode gets exactly the ``Ticket``, ``ServiceOverview`` and
``NumberBlock`` objects the embedded engine returns and catches the same ``QueueError`` subclasses. Datetimes
travel as ISO 8601 with their offset, dates as YYYY-MM-DD.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from queueing.errors import (
    CounterBusy,
    DailyCapReached,
    InvalidTransition,
    KioskRefused,
    NotToday,
    NotYourBlock,
    NumberNotLeased,
    QueueBusy,
    QueueError,
    ServiceClosed,
    UnknownBlock,
    UnknownPriority,
    UnknownService,
    UnknownTicket,
)
from queueing.models import NumberBlock, ServiceOverview, Ticket

# code on the wire → (exception, HTTP status); the client raises the same class the engine raised on the server
REFUSALS: dict[str, tuple[type[QueueError], int]] = {
    "unknown_service": (UnknownService, 404),
    "unknown_ticket": (UnknownTicket, 404),
    "unknown_block": (UnknownBlock, 404),
    "unknown_priority": (UnknownPriority, 422),
    "service_closed": (ServiceClosed, 409),
    "daily_cap_reached": (DailyCapReached, 409),
    "invalid_transition": (InvalidTransition, 409),
    "counter_busy": (CounterBusy, 409),
    "number_not_leased": (NumberNotLeased, 409),
    "not_your_block": (NotYourBlock, 403),
    "not_today": (NotToday, 422),
    "kiosk_refused": (KioskRefused, 401),
    "queue_busy": (QueueBusy, 503),
}
_CODES = {cls: code for code, (cls, _status) in REFUSALS.items()}
# A ticket issued offline is reported under request id "o-<the kiosk's request id>", and that is also the id in
# its printed QR: the server has not given it a ticket id yet when the kiosk prints it.
OFFLINE_PREFIX = "o-"


def to_json(value: Any) -> Any:
    """Dataclasses, datetimes and dates (nested in lists and dicts) as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return value


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def ticket_from_json(data: dict[str, Any]) -> Ticket:
    fields = {f.name for f in dataclasses.fields(Ticket)}
    return Ticket(**{**{k: v for k, v in data.items() if k in fields}, "issued_at": _when(data["issued_at"])})


def block_from_json(data: dict[str, Any]) -> NumberBlock:
    fields = {f.name for f in dataclasses.fields(NumberBlock)}
    return NumberBlock(**{**{k: v for k, v in data.items() if k in fields}, "day": date.fromisoformat(data["day"])})


def overview_from_json(data: dict[str, Any]) -> ServiceOverview:
    return ServiceOverview(data["code"], data["name_vi"], data["name_en"], data["waiting"], data["open_now"],
                           _when(data.get("next_opening")))


def refusal(exc: QueueError) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body for a queue refusal."""
    code = next((_CODES[cls] for cls in type(exc).__mro__ if cls in _CODES), "refused")
    status = REFUSALS[code][1] if code in REFUSALS else 409
    body: dict[str, Any] = {"error": str(exc), "code": code}
    if isinstance(exc, ServiceClosed):
        body.update(service=exc.service, next_opening=to_json(exc.next_opening))
    return status, body


def refusal_from_json(body: dict[str, Any]) -> QueueError:
    """The exception the server's engine raised, rebuilt from the error body (``QueueError`` for other codes)."""
    message = str(body.get("error") or "the queue server refused the request")
    cls = REFUSALS.get(str(body.get("code")), (QueueError, 0))[0]
    if cls is ServiceClosed:
        return ServiceClosed(str(body.get("service", "")), _when(body.get("next_opening")))
    return cls(message)
