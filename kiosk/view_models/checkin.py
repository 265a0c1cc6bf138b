"""A phone number's check-in at the kiosk, as the check-in screen shows it: the number and "please wait", or why
not and where to go instead."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.checkin_flow import CheckInResult
from kiosk.i18n import tr

# the server's refusals the citizen gets a sentence of its own for; any other is "please go to the counter"
REFUSALS = ("unknown_code", "already_checked_in", "not_waiting", "expired")


@dataclass(frozen=True)
class CheckInView:
    code: str  # the scanned code, so a screen matches the answer to its request
    checked_in: bool
    number: str  # empty when refused
    service: str
    headline: str  # "Mời ông/bà chờ gọi số" or the refusal
    ahead_text: str
    wait_text: str


def checkin_view(result: CheckInResult, lang: str, service_name: str = "") -> CheckInView:
    """``service_name``: the service in the citizen's language (the code when the kiosk does not know it)."""
    if result.outcome != "checked_in":
        return CheckInView(result.code, False, "", "", tr(_refusal_key(result), lang), "", "")
    wait = tr("ticket.wait", lang, minutes=result.estimate_min) if result.people_ahead and result.estimate_min \
        else tr("ticket.wait_none", lang) if not result.people_ahead else ""
    return CheckInView(result.code, True, result.number, service_name or result.service,
                       tr("checkin.done", lang), tr("ticket.people_ahead", lang, count=result.people_ahead), wait)


def _refusal_key(result: CheckInResult) -> str:
    if result.outcome == "refused":
        return f"checkin.refused.{result.reason if result.reason in REFUSALS else 'other'}"
    return f"checkin.{result.outcome}"
