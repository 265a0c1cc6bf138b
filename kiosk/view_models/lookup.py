"""Tra cứu hồ sơ and booking check-in: a dossier's status and a check-in's outcome, worded for the citizen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.booking_flow import BookingResult
from kiosk.i18n import tr
from kiosk.lookup_flow import LookupResult, local_date
from kiosk.view_models.queue import TicketView, ticket_view

PROBLEMS = ("not_found", "unavailable", "undeliverable")
_OUTCOME_KEYS = {"not_found": "lookup.not_found", "unavailable": "lookup.unavailable", "cached": "lookup.cached",
                 "queued": "lookup.queued", "undeliverable": "lookup.queued_dead"}


@dataclass(frozen=True)
class LookupView:
    """One answer about ``code``; the status lines are empty when the answer carries no status."""

    code: str
    outcome: str  # found | cached | queued | undeliverable | not_found | unavailable
    outcome_text: str = ""
    procedure: str = ""
    code_line: str = ""
    current: str = ""
    applicant: str = ""
    received: str = ""
    due: str = ""
    missing: str = ""
    pickup: str = ""
    fee: str = ""
    steps: str = ""

    @property
    def is_problem(self) -> bool:
        return self.outcome in PROBLEMS

    @property
    def has_status(self) -> bool:
        """A status to print on a slip and to rate; otherwise the screen offers a help-desk number."""
        return bool(self.current)


NO_LOOKUP = LookupView(code="", outcome="")


@dataclass(frozen=True)
class BookingOutcome:
    """A check-in: the booking's ticket, or why there is none (``message``, already worded)."""

    code: str
    ticket: TicketView | None
    message: str = ""


def lookup_view(result: LookupResult, lang: str) -> LookupView:
    key = _OUTCOME_KEYS.get(result.outcome)
    outcome_text = tr(key, lang, code=result.code, time=result.cached_at) if key else ""
    status = result.status
    if not status:
        return LookupView(result.code, result.outcome, outcome_text)
    return LookupView(
        result.code, result.outcome, outcome_text,
        procedure=_value(status, "procedure_en" if lang == "en" else "procedure_vi"),
        code_line=result.code,
        current=tr(f"status.{status['status']}", lang),
        applicant=tr("lookup.applicant", lang, name=_value(status, "applicant") or "—"),
        received=tr("lookup.received", lang, date=_date(_value(status, "received_at"))),
        due=tr("lookup.due", lang, date=_date(_value(status, "due_date"))),
        missing=tr("lookup.missing", lang, docs=status["missing"]) if _value(status, "missing") else "",
        pickup=tr("lookup.pickup", lang, place=status["pickup"]) if _value(status, "pickup") else "",
        fee=_fee(status, lang),
        steps="  ›  ".join(tr(f"status.{step['status']}", lang) for step in status.get("timeline", [])),
    )


def booking_outcome(result: BookingResult, lang: str) -> BookingOutcome:
    if result.ticket is not None:
        return BookingOutcome(result.code, ticket_view(result.ticket, lang))
    key = result.message_key or f"booking.{result.outcome}"
    return BookingOutcome(result.code, None, tr(key, lang, code=result.code))


def _value(status: Mapping[str, Any], key: str) -> Any:
    return status.get(key) or ""


def _date(iso: str) -> str:
    return local_date(iso) if iso else ""


def _fee(status: Mapping[str, Any], lang: str) -> str:
    fee = _value(status, "fee")
    if not fee:
        return tr("lookup.fee_none", lang)
    key = "lookup.fee_paid" if _value(status, "paid") else "lookup.fee_unpaid"
    return tr(key, lang, fee=f"{fee:,}".replace(",", "."))
