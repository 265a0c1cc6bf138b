"""Classify and parse whatever a scanner read: one pure function, no I/O.

``parse_payload(raw)`` returns a JSON-ready dict whose ``kind`` is ``cccd``, ``dossier``, ``booking``, ``vietqr``,
``ticket``, ``checkin`` (a phone number's check-in link) or ``unknown``, plus that kind's fields (see the modules
of this package). A wrong "yes" is worse than a clear "no", so the formats are read as strictly as they are
published (docs/formats.md):

* a dossier or booking code that breaks a rule is ``unknown``, with ``reason`` and ``problems`` (rule names,
  never the input: it could be personal data) — ``unknown`` carries nothing else but the input's length;
* a CCCD or VietQR payload that breaks a rule keeps its kind, with ``valid: false`` and its ``problems``.

The screens word each problem for the citizen (``scan.problem.<name>`` in assets/locale). It never raises.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from contracts.vietqr import build_vietqr, crc16_ccitt, looks_like_vietqr, parse_vietqr
from devices.payloads.cccd import looks_like_cccd, parse_cccd
from devices.payloads.codes import parse_url, read_code, refused
from devices.payloads.text import decode_scan, hidden_character
from devices.payloads.vietqr import MAX_VIETQR, vietqr_problems

__all__ = ["build_vietqr", "crc16_ccitt", "parse_payload"]


def _with_problems(result: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    problems = [*result.get("problems", []), *problems]
    return {**result, "valid": not problems, "problems": problems}


def _classify(text: str, today: dt.date | None) -> dict[str, Any]:
    hidden = ["hidden_characters"] if hidden_character(text) else []
    if looks_like_vietqr(text):
        if len(text) > MAX_VIETQR:
            return refused("too_long")
        fields = parse_vietqr(text)
        return _with_problems(fields, vietqr_problems(text, fields["crc_ok"]) + hidden)
    if looks_like_cccd(text):
        return _with_problems(parse_cccd(text, today), hidden)
    if hidden:
        return refused(*hidden)
    return parse_url(text, today) or read_code(text, today)


def parse_payload(raw: bytes | str, today: dt.date | None = None) -> dict[str, Any]:
    """What ``raw`` is; ``today`` (the centre's date by default) decides which dates are in the future."""
    text, truncated = decode_scan(raw)
    if truncated:
        result = refused("too_long")
    elif not text:
        result = refused("empty")
    else:
        result = _classify(text, today)
    if result["kind"] == "unknown":
        result["length"] = len(raw)
    if truncated:
        result["truncated"] = True
    return result
