"""What a scan means on the screen where it happens: which screen to open and what to tell the citizen.

A screen that expects scans (lookup, filing) takes them itself; everywhere else this decides. CCCD data is never
kept here: on a screen that does not file a dossier it is only acknowledged, and the payload is dropped.
A refused scan says why in the citizen's language: each of its ``problems`` (devices.payloads) has a sentence
``scan.problem.<name>`` in the catalogues, worded when shown so a language switch re-words it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kiosk.i18n import tr

# refusals that say nothing the general "this is not a code we read" message does not say better
_GENERAL = {"empty", "not_recognised"}


@dataclass(frozen=True)
class ScanRoute:
    screen: str | None  # screen to open, or None to stay
    message_key: str
    values: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # why the scan was refused: the message's ``{problems}``

    def text(self, lang: str) -> str:
        worded = {"problems": reasons(self.problems, lang)} if self.problems else {}
        return tr(self.message_key, lang, **self.values, **worded)


def reasons(problems: Sequence[str], lang: str) -> str:
    """The refusal reasons as one clause list, e.g. "giới tính phải là Nam hoặc Nữ như in trên thẻ; …"."""
    return "; ".join(tr(f"scan.problem.{problem}", lang) for problem in problems)


def refusal(payload: dict[str, Any], message_key: str = "scan.refused") -> ScanRoute | None:
    """The message for a scan refused for a reason worth telling (a malformed code, a damaged card QR), else None."""
    problems = tuple(payload.get("problems") or ())
    if not problems or set(problems) <= _GENERAL:
        return None
    return ScanRoute(None, message_key, problems=problems)


def route_scan(payload: dict[str, Any], available_screens: set[str]) -> ScanRoute:
    kind = payload.get("kind")
    if kind == "dossier":
        return ScanRoute("lookup" if "lookup" in available_screens else None, "scan.dossier",
                         {"code": payload["code"]})
    if kind == "booking":
        return ScanRoute("lookup" if "lookup" in available_screens else None, "scan.booking",
                         {"code": payload["code"]})
    if kind == "checkin":  # a phone number's check-in QR: the check-in screen sends it to the queue server
        return ScanRoute("checkin" if "checkin" in available_screens else None, "scan.checkin")
    if kind in ("ticket", "vietqr", "cccd"):
        return ScanRoute(None, f"scan.{kind}")
    return refusal(payload) or ScanRoute(None, "scan.unknown")
