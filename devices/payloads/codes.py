"""Codes a citizen brings: dossier receipt codes, booking codes, our ticket tracking links — bare or in URLs.

A code is the whole payload or the whole value of a URL part (a query parameter or the last path segment),
never a piece cut out of a longer string: ``000-00-13-H26-251124-0001`` is not ``H26-251124-0001`` and
``…-0001 abc`` is not ``…-0001``. Lower case is read as upper case. The rules and their sources are in
docs/formats.md:

* dossier code (Circular 01/2018/TT-VPCP): ``<agency>-<yymmdd>-<nnnn>``; the agency is its QCVN 102:2016/BTTTT
  identifier, four dotted groups of 3, 2, 2 and 3 characters (``000.00.13.H26``, level 1 a letter and two
  digits), the date a real day not after tomorrow, the sequence four digits from 0001;
* a kiosk's offline reference ``KS.<kiosk id>-<yymmdd>-<4–6 digits>`` (kiosk/outbox.py), reported ``local``;
* booking code ``BK-<yymmdd>-<6 letters or digits>``;
* a phone number's check-in link ``http(s)://<host>/phone/c/<code>`` (contracts E), the code exactly 10 Crockford
  base32 characters and nothing after it: any other path under ``/phone/c/`` is refused, never cut down to a code.

A payload shaped like a dossier code that breaks a rule is refused with its reasons (``problems``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from config.localtime import LOCAL_TZ

AGENCY = r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}"
LOCAL = re.compile(r"(KS\.[A-Z0-9][A-Z0-9_-]{0,31})-([0-9]{6})-([0-9]{4,6})")
BOOKING = re.compile(r"BK-([0-9]{6})-([A-Z0-9]{6})")
# what a dossier code looks like before the rules: something, a dash, digits, a dash, digits
DOSSIER_SHAPE = re.compile(r"[0-9A-Z._-]{1,40}-[0-9]{2,8}-[0-9]{1,8}")
TICKET_PATH = re.compile(r"^/t/([A-Za-z0-9_-]{6,32})/?$")
CHECKIN_PREFIX = "/phone/c/"
CHECKIN_CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{10}")  # Crockford base32: no I, L, O or U
CODE_PARAMS = ("code", "ma_ho_so", "mahoso", "mhs", "sohoso", "ma", "madon", "dossier", "hoso", "q")
LOCAL_PREFIX = "KS."
FUTURE_SLACK = dt.timedelta(days=1)  # a kiosk's clock a little behind the agency's must not refuse a fresh code


def refused(*problems: str) -> dict[str, Any]:
    """The result for a payload that is none of the known kinds, with why (never the payload itself)."""
    return {"kind": "unknown", "reason": problems[0], "problems": list(problems)}


def _yymmdd(text: str) -> dt.date | None:
    try:
        return dt.date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        return None


def _today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def _date_problems(text: str, today: dt.date) -> list[str]:
    day = _yymmdd(text) if re.fullmatch(r"[0-9]{6}", text) else None
    if day is None:
        return ["dossier_date_invalid"]
    return ["dossier_date_future"] if day > today + FUTURE_SLACK else []


def _dossier_problems(code: str, today: dt.date) -> list[str]:
    """Why a dossier-shaped ``code`` breaks the national format (empty when it does not)."""
    agency, date_text, seq = code.rsplit("-", 2)
    problems = [] if re.fullmatch(AGENCY, agency) else ["dossier_agency_format"]
    problems += _date_problems(date_text, today)
    if not re.fullmatch(r"[0-9]{4}", seq) or seq == "0000":
        problems.append("dossier_sequence_format")
    return problems


def read_code(text: str, today: dt.date | None = None) -> dict[str, Any]:
    """``text`` as exactly one code: a booking, an offline reference or a national dossier code, else refused."""
    code = text.upper()
    today = today or _today()
    if booking := BOOKING.fullmatch(code):
        if _yymmdd(booking[1]) is None:
            return refused("booking_date_invalid")
        return {"kind": "booking", "code": code}
    if code.startswith("BK-"):
        return refused("booking_format")
    if local := LOCAL.fullmatch(code):
        problems = _date_problems(local[2], today) + ([] if int(local[3]) else ["dossier_sequence_format"])
        return refused(*problems) if problems else {"kind": "dossier", "code": code, "local": True}
    if DOSSIER_SHAPE.fullmatch(code):
        problems = _dossier_problems(code, today)
        return refused(*problems) if problems else {"kind": "dossier", "code": code}
    if DOSSIER_SHAPE.search(code) or BOOKING.search(code):
        return refused("text_around_code")
    return refused("not_recognised")


def _checkin(code: str, extra: str, host: str, url: str) -> dict[str, Any]:
    """A check-in link: the code upper-cased (Crockford reads either case), or refused when anything about it is
    off — a short or long code, a letter Crockford leaves out, a slash, a query or a fragment."""
    code = code.upper()
    if extra or not CHECKIN_CODE.fullmatch(code):
        return refused("checkin_code_format")
    return {"kind": "checkin", "code": code, "host": host.lower(), "url": url}


def parse_url(text: str, today: dt.date | None = None) -> dict[str, Any] | None:
    """A link carrying a ticket id, a booking code or a dossier code (in a query parameter or the path's last
    segment); None when ``text`` is not an http(s) link at all."""
    if not re.match(r"^https?://", text, re.IGNORECASE) or any(ch.isspace() for ch in text):
        return None
    try:
        parts = urlsplit(text)
        params = {k.lower().replace("-", "_"): v for k, v in parse_qsl(parts.query)}
    except ValueError:  # "http://[oops" (bad IPv6 host), a host that NFKC-normalises to "#", "/", …
        return None
    if parts.path.startswith(CHECKIN_PREFIX):
        return _checkin(parts.path[len(CHECKIN_PREFIX):], parts.query + parts.fragment, parts.netloc, text)
    ticket = TICKET_PATH.match(parts.path)
    if ticket:
        return {"kind": "ticket", "ticket_id": ticket[1], "url": text}
    if "booking" in params:
        return read_code(params["booking"], today)
    path = parts.path.rstrip("/")
    if "/booking/" in path:
        return read_code(unquote(path.rsplit("/booking/", 1)[1]), today)
    for name in CODE_PARAMS:
        if name in params:
            return read_code(params[name], today)
    segment = unquote(path.rsplit("/", 1)[-1])
    return read_code(segment, today) if segment else refused("not_recognised")
