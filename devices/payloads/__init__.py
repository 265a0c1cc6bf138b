"""Classify and parse whatever a scanner read: one pure function, no I/O.

``parse_payload(raw)`` returns a JSON-ready dict whose ``kind`` is ``cccd``, ``dossier``, ``booking``, ``vietqr``,
``ticket`` or ``unknown``, plus that kind's fields (see the modules of this package). It never raises and never
echoes unrecognised input back (it could be personal data): ``unknown`` carries only the length.
"""

from __future__ import annotations

from typing import Any

from contracts.vietqr import build_vietqr, crc16_ccitt, looks_like_vietqr, parse_vietqr
from devices.payloads.cccd import looks_like_cccd, parse_cccd
from devices.payloads.codes import find_booking_code, find_dossier_code, parse_url
from devices.payloads.text import decode_scan

__all__ = ["build_vietqr", "crc16_ccitt", "parse_payload"]


def _classify(text: str) -> dict[str, Any]:
    if not text:
        return {"kind": "unknown", "reason": "empty"}
    if looks_like_vietqr(text):
        return parse_vietqr(text)
    if looks_like_cccd(text):
        return parse_cccd(text)
    found = parse_url(text)
    if found:
        return found
    if len(text) <= 200:
        found = find_booking_code(text) or find_dossier_code(text)
        if found:
            return found
    return {"kind": "unknown", "reason": "not a recognised QR code"}


def parse_payload(raw: bytes | str) -> dict[str, Any]:
    text, truncated = decode_scan(raw)
    result = _classify(text)
    if result["kind"] == "unknown":
        result["length"] = len(raw)
    if truncated:
        result["truncated"] = True
    return result
