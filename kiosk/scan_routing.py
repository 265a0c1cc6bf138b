"""What a scan means on the screen where it happens: which screen to open and what to tell the citizen.

A screen that expects scans (lookup, filing) takes them itself; everywhere else this decides. CCCD data is never
kept here: on a screen that does not file a dossier it is only acknowledged, and the payload is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ScanRoute:
    screen: str | None  # screen to open, or None to stay
    message_key: str
    values: dict[str, Any] = field(default_factory=dict)


def route_scan(payload: dict[str, Any], available_screens: set[str]) -> ScanRoute:
    kind = payload.get("kind")
    if kind == "dossier":
        return ScanRoute("lookup" if "lookup" in available_screens else None, "scan.dossier",
                         {"code": payload["code"]})
    if kind == "booking":
        return ScanRoute("lookup" if "lookup" in available_screens else None, "scan.booking",
                         {"code": payload["code"]})
    if kind in ("ticket", "vietqr", "cccd"):
        return ScanRoute(None, f"scan.{kind}")
    return ScanRoute(None, "scan.unknown")
