"""Codes a citizen brings: dossier receipt codes, booking codes, our ticket tracking links — bare or in URLs.

Dossier codes follow the national format ``<agency code>-<yymmdd>-<sequence>`` (e.g. ``000.00.13.H26-251124-0001``,
``H26.22-240115-0001``): liberal about the agency part (letters, digits, dots), strict about the date and the
4–6 digit sequence. A kiosk that filed a dossier offline prints a local reference ``KS.<kiosk>-<yymmdd>-<seq>``
in the same shape, reported with ``local: true``. Booking codes are ``BK-<yymmdd>-<6 letters/digits>``.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qsl, unquote, urlsplit

DOSSIER = re.compile(r"(?<![A-Z0-9.])([A-Z0-9]{1,12}(?:\.[A-Z0-9]{1,12}){0,5})-([0-9]{6})-([0-9]{4,6})(?![0-9])")
BOOKING = re.compile(r"(?<![A-Z0-9])BK-([0-9]{6})-([A-Z0-9]{6})(?![A-Z0-9])")
TICKET_PATH = re.compile(r"^/t/([A-Za-z0-9_-]{6,32})/?$")
CODE_PARAMS = ("code", "ma_ho_so", "mahoso", "mhs", "sohoso", "ma", "madon", "dossier", "hoso", "q")
LOCAL_PREFIX = "KS."


def _valid_yymmdd(text: str) -> bool:
    try:
        dt.date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        return False
    return True


def find_dossier_code(text: str) -> dict[str, object] | None:
    candidate = re.sub(r"\s+", "", unquote(text)).upper()
    for match in DOSSIER.finditer(candidate):
        agency, date, seq = match.groups()
        if _valid_yymmdd(date) and any(ch.isalpha() for ch in agency + ".") and not agency.startswith("BK"):
            code = f"{agency}-{date}-{seq}"
            result: dict[str, object] = {"kind": "dossier", "code": code}
            if agency.startswith(LOCAL_PREFIX):
                result["local"] = True
            return result
    return None


def find_booking_code(text: str) -> dict[str, object] | None:
    match = BOOKING.search(re.sub(r"\s+", "", unquote(text)).upper())
    if match and _valid_yymmdd(match[1]):
        return {"kind": "booking", "code": f"BK-{match[1]}-{match[2]}"}
    return None


def parse_url(text: str) -> dict[str, object] | None:
    """A link carrying a ticket id, a booking code or a dossier code (in a query parameter or the path)."""
    if not re.match(r"^https?://", text, re.IGNORECASE) or any(ch.isspace() for ch in text.strip()):
        return None
    try:
        parts = urlsplit(text.strip())
    except ValueError:  # "http://[oops" (bad IPv6 host), a host that NFKC-normalises to "#", "/", …
        return None
    ticket = TICKET_PATH.match(parts.path)
    if ticket:
        return {"kind": "ticket", "ticket_id": ticket[1], "url": text.strip()}
    params = {k.lower().replace("-", "_"): v for k, v in parse_qsl(parts.query)}
    if "booking" in params:
        found = find_booking_code(params["booking"])
        if found:
            return found
    if "/booking/" in parts.path:
        found = find_booking_code(parts.path.rsplit("/booking/", 1)[1])
        if found:
            return found
    for name in CODE_PARAMS:
        if name in params:
            found = find_dossier_code(params[name]) or find_booking_code(params[name])
            if found:
                return found
    segment = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return find_dossier_code(segment) or find_booking_code(segment)
