"""VietQR as strict as EMVCo MPM and NAPAS: which payment QR codes a bank app would accept (docs/formats.md).

``contracts.vietqr.parse_vietqr`` reads the fields leniently (the kiosk builds its own codes with the same
module); this walks the same TLV text strictly and names each rule broken: every tag's declared length matches
and stays within EMVCo's maximum, no tag twice, the CRC (``63``, length 04) last and right, point of initiation
11/12, the NAPAS GUID in tag 38, a 6-digit BIN, an account of 1–19 letters or digits (a 16–19 digit card for
QRIBFTTC), a known service code, currency 704, country VN, a whole positive amount of đồng.
A valid CRC proves only that nothing changed since the code was made, not that it was made right.
"""

from __future__ import annotations

import re

from contracts.vietqr import NAPAS_GUID

SERVICES = ("QRIBFTTA", "QRIBFTTC", "QRPUSH")
MAX_VIETQR = 512  # EMVCo MPM: the whole payload is at most 512 characters
# EMVCo MPM maximum lengths of the root fields the kiosk could meet (fixed-length fields are checked by value)
MAX_LENGTH = {"54": 13, "59": 25, "60": 15, "61": 10, "62": 99}
MAX_EXTRA = 25  # every 62 sub-field but 09 (08, the transfer message, included)
Items = list[tuple[str, str]]


def tlv_items(text: str) -> Items | None:
    """(tag, value) pairs in order, duplicates kept; None when a tag or length is malformed or overruns."""
    items: Items = []
    pos = 0
    while pos < len(text):
        tag, length = text[pos:pos + 2], text[pos + 2:pos + 4]
        if not re.fullmatch(r"[0-9]{2}", tag) or not re.fullmatch(r"[0-9]{2}", length):
            return None
        end = pos + 4 + int(length)
        if end > len(text):
            return None
        items.append((tag, text[pos + 4:end]))
        pos = end
    return items


def _nested(value: str, problems: list[str]) -> dict[str, str]:
    items = tlv_items(value)
    if items is None:
        problems.append("vietqr_malformed")
        return {}
    if len({tag for tag, _ in items}) != len(items):
        problems.append("vietqr_duplicate_tag")
    return dict(items)


def _amount_ok(text: str) -> bool:
    """Whole đồng (the currency has no minor unit): "50000", "50000.0", "50000.00"; more than zero."""
    match = re.fullmatch(r"([0-9]{1,13})(?:\.(0{1,2}))?", text)
    return bool(match) and int(match[1]) > 0 and len(text) <= MAX_LENGTH["54"]


def _account_problems(merchant: dict[str, str], problems: list[str]) -> None:
    if merchant.get("00") != NAPAS_GUID:
        problems.append("vietqr_guid")
    beneficiary = _nested(merchant.get("01", ""), problems)
    if not re.fullmatch(r"[0-9]{6}", beneficiary.get("00", "")):
        problems.append("vietqr_bin")
    service = merchant.get("02")
    if service not in SERVICES:
        problems.append("vietqr_service")
    account = beneficiary.get("01", "")
    pattern = r"[0-9]{16,19}" if service == "QRIBFTTC" else r"[0-9A-Za-z]{1,19}"
    if not re.fullmatch(pattern, account):
        problems.append("vietqr_account")


def vietqr_problems(text: str, crc_ok: bool) -> list[str]:
    """Every rule ``text`` breaks (empty for a code a bank app would take). ``looks_like_vietqr`` has checked
    that ``00`` = ``01`` comes first, ``parse_vietqr`` the CRC's value (``crc_ok``; pure-Python CRC-16 is the
    slowest step, so it runs once); the CRC must also be the last field, not text inside another one."""
    items = tlv_items(text)
    if not items:
        return ["vietqr_malformed"]
    fields = dict(items)
    problems = [] if len(fields) == len(items) else ["vietqr_duplicate_tag"]
    if fields.get("01", "11") not in ("11", "12"):
        problems.append("vietqr_initiation_method")
    _account_problems(_nested(fields.get("38", ""), problems), problems)
    if "52" in fields and not re.fullmatch(r"[0-9]{4}", fields["52"]):
        problems.append("vietqr_category")
    if fields.get("53") != "704":
        problems.append("vietqr_currency")
    if "54" in fields and not _amount_ok(fields["54"]):
        problems.append("vietqr_amount")
    if fields.get("58") != "VN":
        problems.append("vietqr_country")
    extra = _nested(fields.get("62", ""), problems) if "62" in fields else {}
    too_long = [tag for tag, limit in MAX_LENGTH.items() if len(fields.get(tag, "")) > limit]
    too_long += [tag for tag, value in extra.items() if tag != "09" and len(value) > MAX_EXTRA]
    if too_long:
        problems.append("vietqr_field_length")
    if not crc_ok or items[-1][0] != "63" or len(items[-1][1]) != 4:
        problems.append("vietqr_crc")
    return problems
